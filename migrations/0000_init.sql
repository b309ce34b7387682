CREATE TABLE `blobs` (
	`digest` text PRIMARY KEY NOT NULL,
	`size` integer NOT NULL,
	`storage_key` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `manifest_references` (
	`manifest_id` integer NOT NULL,
	`digest` text NOT NULL,
	`kind` text NOT NULL,
	PRIMARY KEY(`manifest_id`, `digest`, `kind`),
	FOREIGN KEY (`manifest_id`) REFERENCES `manifests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `manifest_references_digest_idx` ON `manifest_references` (`digest`);--> statement-breakpoint
CREATE TABLE `manifests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`repository_id` integer NOT NULL,
	`digest` text NOT NULL,
	`media_type` text NOT NULL,
	`size` integer NOT NULL,
	`artifact_type` text,
	`config_media_type` text,
	`config_digest` text,
	`subject_digest` text,
	`annotations` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `manifests_repository_digest_unique` ON `manifests` (`repository_id`,`digest`);--> statement-breakpoint
CREATE INDEX `manifests_subject_idx` ON `manifests` (`repository_id`,`subject_digest`);--> statement-breakpoint
CREATE TABLE `repositories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`namespace` text NOT NULL,
	`visibility` text DEFAULT 'private' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repositories_name_unique` ON `repositories` (`name`);--> statement-breakpoint
CREATE INDEX `repositories_namespace_idx` ON `repositories` (`namespace`);--> statement-breakpoint
CREATE TABLE `repository_blobs` (
	`repository_id` integer NOT NULL,
	`digest` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`repository_id`, `digest`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`digest`) REFERENCES `blobs`(`digest`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `repository_blobs_digest_idx` ON `repository_blobs` (`digest`);--> statement-breakpoint
CREATE TABLE `tags` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`repository_id` integer NOT NULL,
	`name` text NOT NULL,
	`manifest_id` integer NOT NULL,
	`lifetime_start_ms` integer NOT NULL,
	`lifetime_end_ms` integer,
	`reversion` integer DEFAULT false NOT NULL,
	`hidden` integer DEFAULT false NOT NULL,
	`immutable` integer DEFAULT false NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`manifest_id`) REFERENCES `manifests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tags_one_open_row` ON `tags` (`repository_id`,`name`) WHERE "tags"."lifetime_end_ms" IS NULL;--> statement-breakpoint
CREATE INDEX `tags_repository_name_idx` ON `tags` (`repository_id`,`name`,`lifetime_end_ms`);--> statement-breakpoint
CREATE INDEX `tags_manifest_idx` ON `tags` (`manifest_id`);