-- The ACME equipment database: equipment and its calibration history, with sample rows.
-- Idempotent (tables created if missing, rows inserted only if absent); loaded by
-- load_schema.sh (Job load-acme-schema), parsed in tests/python/test_init_schema.py.
CREATE TABLE IF NOT EXISTS equipment (
  equipment_id   VARCHAR(32) PRIMARY KEY,
  equipment_type VARCHAR(64) NOT NULL,
  bay            VARCHAR(16) NOT NULL,
  status         VARCHAR(32) NOT NULL DEFAULT 'operational'
);
CREATE TABLE IF NOT EXISTS calibration_log (
  id             SERIAL PRIMARY KEY,
  equipment_id   VARCHAR(32) NOT NULL REFERENCES equipment(equipment_id),
  calibrated_at  TIMESTAMPTZ NOT NULL,
  overlay_nm     NUMERIC(5,2) NOT NULL,
  focus_drift_nm NUMERIC(5,2) NOT NULL,
  dose_dev_pct   NUMERIC(4,2) NOT NULL,
  result         VARCHAR(16) NOT NULL
);
INSERT INTO equipment (equipment_id, equipment_type, bay) VALUES
  ('LITHO-001', 'EUV scanner', 'A1'),
  ('LITHO-002', 'EUV scanner', 'A1'),
  ('LITHO-003', 'DUV immersion scanner', 'A2')
ON CONFLICT (equipment_id) DO NOTHING;
INSERT INTO calibration_log (equipment_id, calibrated_at, overlay_nm, focus_drift_nm, dose_dev_pct, result)
SELECT 'LITHO-001', now() - interval '3 days', 2.10, 9.5, 0.8, 'pass'
WHERE NOT EXISTS (SELECT 1 FROM calibration_log WHERE equipment_id = 'LITHO-001');
INSERT INTO calibration_log (equipment_id, calibrated_at, overlay_nm, focus_drift_nm, dose_dev_pct, result)
SELECT 'LITHO-002', now() - interval '8 days', 2.70, 12.0, 1.1, 'warn'
WHERE NOT EXISTS (SELECT 1 FROM calibration_log WHERE equipment_id = 'LITHO-002');
