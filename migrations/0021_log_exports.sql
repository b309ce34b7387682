CREATE TABLE `log_exports` (
	`id` text PRIMARY KEY NOT NULL,
	`namespace_id` integer NOT NULL,
	`namespace_name` text NOT NULL,
	`repository_id` integer,
	`repository_name` text,
	`start_ms` integer NOT NULL,
	`end_ms` integer NOT NULL,
	`callback_url` text,
	`callback_email` text,
	`origin` text NOT NULL,
	`state` text NOT NULL,
	`cursor` text,
	`parts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `log_exports_one_running` ON `log_exports` (`namespace_id`) WHERE state = 'running';--> statement-breakpoint
CREATE INDEX `log_exports_created_idx` ON `log_exports` (`created_at`);