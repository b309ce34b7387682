CREATE TABLE `fair_use_overrides` (
	`namespace_id` integer PRIMARY KEY NOT NULL,
	`requests_per_minute` integer,
	`pull_bytes_per_hour` integer,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
