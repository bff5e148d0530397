-- Each request a different random 0.031 x 0.023 degree box of lights.
math.randomseed(os.time() + 1)
request = function()
  local lon = 116.10 + math.random() * (0.60 - 0.031)
  local lat = 39.75 + math.random() * (0.40 - 0.023)
  return wrk.format("GET", string.format("/collections/lights/items?bbox=%.6f,%.6f,%.6f,%.6f&limit=1000", lon, lat, lon + 0.031, lat + 0.023))
end
