CREATE TABLE `namespace_notifications` (
	`uuid` text PRIMARY KEY NOT NULL,
	`namespace_id` integer NOT NULL,
	`event` text NOT NULL,
	`method` text NOT NULL,
	`title` text,
	`sealed_config` text NOT NULL,
	`event_config` text DEFAULT '{}' NOT NULL,
	`number_of_failures` integer DEFAULT 0 NOT NULL,
	`origin` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `namespace_notifications_namespace_idx` ON `namespace_notifications` (`namespace_id`,`event`);