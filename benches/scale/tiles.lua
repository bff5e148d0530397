-- Each request a different uniformly random zoom-14 tile over the generated
-- city (116.10-116.70 E, 39.75-40.15 N: x 13475-13503, y 6193-6217).
math.randomseed(os.time() + 2)
request = function()
  return wrk.format("GET", string.format("/tiles/14/%d/%d.mvt", math.random(13475, 13503), math.random(6193, 6217)))
end
