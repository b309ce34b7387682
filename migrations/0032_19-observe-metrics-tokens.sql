CREATE TABLE `metrics_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_by` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `metrics_tokens_uuid_unique` ON `metrics_tokens` (`uuid`);--> statement-breakpoint
CREATE UNIQUE INDEX `metrics_tokens_token_unique` ON `metrics_tokens` (`token_hash`);