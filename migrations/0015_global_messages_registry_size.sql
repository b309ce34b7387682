CREATE TABLE `global_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`content` text NOT NULL,
	`media_type` text NOT NULL,
	`severity` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `global_messages_uuid_unique` ON `global_messages` (`uuid`);--> statement-breakpoint
CREATE TABLE `registry_size` (
	`id` integer PRIMARY KEY NOT NULL,
	`size_bytes` integer DEFAULT 0 NOT NULL,
	`completed_at` integer,
	`queued` integer DEFAULT false NOT NULL,
	`running` integer DEFAULT false NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
