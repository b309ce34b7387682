CREATE TABLE `quota_refusals` (
	`namespace_id` integer NOT NULL,
	CONSTRAINT "quota_exceeded" CHECK(0)
);
