-- The clean-up drops received activities older than 30 days every hour: by time, not a scan.
CREATE INDEX inbox_activities_received_at ON inbox_activities (received_at);
