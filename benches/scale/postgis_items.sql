-- Up to 1,000 lights in a uniformly random 0.031 x 0.023 degree box, with
-- their attributes, as one GeoJSON FeatureCollection (what
-- /collections/lights/items?bbox=...&limit=1000 answers).
\set x random(0, 569000)
\set y random(0, 377000)
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(ST_AsGeoJSON(t.*)::json))
FROM (SELECT id, kind, attributes, geom FROM assets
      WHERE kind = 'light'
        AND geom && ST_MakeEnvelope(116.10 + :x / 1e6, 39.75 + :y / 1e6, 116.131 + :x / 1e6, 39.773 + :y / 1e6, 4326)
      ORDER BY id LIMIT 1000) t;
