PRAGMA defer_foreign_keys = on;--> statement-breakpoint
CREATE TABLE `__new_notification_expiry_notices` (
	`notification_uuid` text NOT NULL,
	`tag_name` text NOT NULL,
	`lifetime_start_ms` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`notification_uuid`, `tag_name`, `lifetime_start_ms`),
	FOREIGN KEY (`notification_uuid`) REFERENCES `repository_notifications`(`uuid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT OR IGNORE INTO `__new_notification_expiry_notices`("notification_uuid", "tag_name", "lifetime_start_ms", "created_at") SELECT x."notification_uuid", t."name", t."lifetime_start_ms", x."created_at" FROM `notification_expiry_notices` x JOIN `repository_notifications` n ON n."uuid" = x."notification_uuid" JOIN `tags` t ON t."id" = x."tag_id" AND t."repository_id" = n."repository_id";--> statement-breakpoint
DROP TABLE `notification_expiry_notices`;--> statement-breakpoint
ALTER TABLE `__new_notification_expiry_notices` RENAME TO `notification_expiry_notices`;--> statement-breakpoint
PRAGMA defer_foreign_keys = off;