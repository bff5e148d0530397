-- Each request a different uniformly random point over the generated city.
math.randomseed(os.time())
request = function()
  local lon = 116.10 + math.random() * 0.60
  local lat = 39.75 + math.random() * 0.40
  return wrk.format("GET", string.format("/v1/assets/nearby?lon=%.6f&lat=%.6f&limit=10", lon, lat))
end
