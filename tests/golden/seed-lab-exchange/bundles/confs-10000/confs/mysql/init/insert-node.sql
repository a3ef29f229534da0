-- EggRoll nodes of party 10000 (seed.fate.fate_config). Runs once, on an empty data folder,
-- against the default database "fate" after create-meta-service.sql (the entrypoint sorts by name).
INSERT INTO node (ip, port, type, status) VALUES ('roll', 8011, 'ROLL', 'HEALTHY');
INSERT INTO node (ip, port, type, status) VALUES ('proxy', 9370, 'PROXY', 'HEALTHY');
INSERT INTO node (ip, port, type, status) VALUES ('egg', 7888, 'EGG', 'HEALTHY');
INSERT INTO node (ip, port, type, status) VALUES ('egg', 7778, 'STORAGE', 'HEALTHY');
