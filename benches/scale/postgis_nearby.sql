-- The 10 nearest assets of any kind to a uniformly random point over the
-- city, with their attributes and geodesic distance, as one GeoJSON
-- FeatureCollection (what /v1/assets/nearby answers).
\set lon random(0, 600000)
\set lat random(0, 400000)
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(ST_AsGeoJSON(t.*)::json))
FROM (SELECT a.id, a.kind, a.attributes, ST_Distance(a.geom::geography, q.p::geography) AS distance_m, a.geom
      FROM assets a, (SELECT ST_SetSRID(ST_MakePoint(116.10 + :lon / 1e6, 39.75 + :lat / 1e6), 4326) AS p) q
      ORDER BY a.geom <-> q.p LIMIT 10) t;
