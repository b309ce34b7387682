CREATE TABLE `notification_expiry_notices` (
	`notification_uuid` text NOT NULL,
	`tag_id` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`notification_uuid`, `tag_id`),
	FOREIGN KEY (`notification_uuid`) REFERENCES `repository_notifications`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `repository_authorized_emails` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`repository_id` integer NOT NULL,
	`email` text NOT NULL,
	`code_hash` text NOT NULL,
	`confirmed` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repository_authorized_emails_unique` ON `repository_authorized_emails` (`repository_id`,`email`);--> statement-breakpoint
CREATE UNIQUE INDEX `repository_authorized_emails_code` ON `repository_authorized_emails` (`code_hash`);--> statement-breakpoint
CREATE TABLE `repository_notifications` (
	`uuid` text PRIMARY KEY NOT NULL,
	`repository_id` integer NOT NULL,
	`event` text NOT NULL,
	`method` text NOT NULL,
	`title` text,
	`sealed_config` text NOT NULL,
	`event_config` text DEFAULT '{}' NOT NULL,
	`number_of_failures` integer DEFAULT 0 NOT NULL,
	`origin` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `repository_notifications_repository_idx` ON `repository_notifications` (`repository_id`,`event`);--> statement-breakpoint
CREATE TABLE `user_notifications` (
	`uuid` text PRIMARY KEY NOT NULL,
	`user_id` integer NOT NULL,
	`kind` text NOT NULL,
	`organization` text,
	`metadata` text NOT NULL,
	`dismissed` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `user_notifications_user_idx` ON `user_notifications` (`user_id`,`created_at`);