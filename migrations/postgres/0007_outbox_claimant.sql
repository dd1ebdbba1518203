-- Who claimed an in-flight command: `host:pid:start` of the process applying it. When that
-- process is known to be gone (same host, no such process with that start time), the next worker
-- resumes the command at once instead of waiting out the lease meant for other hosts.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
