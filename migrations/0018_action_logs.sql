CREATE TABLE `action_logs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text,
	`kind` text NOT NULL,
	`performer_id` integer,
	`performer_name` text,
	`performer_kind` text,
	`ip` text,
	`namespace_id` integer,
	`namespace_name` text,
	`repository_id` integer,
	`repository_name` text,
	`metadata` text NOT NULL,
	`datetime` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `action_logs_event_unique` ON `action_logs` (`event_id`);--> statement-breakpoint
CREATE INDEX `action_logs_namespace_idx` ON `action_logs` (`namespace_id`,`datetime`);--> statement-breakpoint
CREATE INDEX `action_logs_repository_idx` ON `action_logs` (`repository_id`,`datetime`);--> statement-breakpoint
CREATE INDEX `action_logs_performer_idx` ON `action_logs` (`performer_id`,`datetime`);--> statement-breakpoint
CREATE INDEX `action_logs_datetime_idx` ON `action_logs` (`datetime`);--> statement-breakpoint
CREATE TABLE `repository_action_counts` (
	`repository_id` integer NOT NULL,
	`day` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`repository_id`, `day`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
