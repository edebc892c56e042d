-- The BullMQ job a relayed row went out as: its operation's id, or the batch job carrying it with others.
ALTER TABLE "outbox" ADD COLUMN "job_id" text;