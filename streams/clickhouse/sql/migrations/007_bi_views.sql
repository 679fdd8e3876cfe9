-- The views BI tools query run with the rights of the user who created them
-- (the processor's), so a read-only BI user needs SELECT on the views alone,
-- and nothing on the tables behind them (deploy/clickhouse/users.d/zz-cx-bi.xml).
-- Keep this list equal to the views the migrations create (a test checks).
ALTER TABLE {database:Identifier}.customer_touchpoints MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.current_journeys MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_minute MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_by_dimension_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.scores_rolling MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.volume_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.volume_minute MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.people_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.response_times_minute MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.support_contacts MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.pain_points_minute MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.funnel_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.response_times_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.pain_points_daily MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.churn_risk MODIFY SQL SECURITY DEFINER;
ALTER TABLE {database:Identifier}.churn_risk_by_segment MODIFY SQL SECURITY DEFINER;
