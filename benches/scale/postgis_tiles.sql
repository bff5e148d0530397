-- A uniformly random zoom-14 tile over the city as a Mapbox Vector Tile:
-- one layer per kind, attributes as tags, clipped with a 64-unit buffer
-- (what /tiles/14/x/y.mvt answers).
\set x random(13475, 13503)
\set y random(6193, 6217)
SELECT string_agg(layer, ''::bytea) FROM (
  SELECT ST_AsMVT(t.*, t.kind, 4096, 'geom', 'id') AS layer
  FROM (SELECT a.id, a.kind, a.attributes,
               ST_AsMVTGeom(ST_Transform(a.geom, 3857), ST_TileEnvelope(14, :x, :y), 4096, 64) AS geom
        FROM assets a
        WHERE a.geom && ST_Transform(ST_TileEnvelope(14, :x, :y, margin => 64.0 / 4096), 4326)) t
  WHERE t.geom IS NOT NULL
  GROUP BY t.kind) layers;
