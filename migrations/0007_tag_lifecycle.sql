CREATE TABLE `autoprune_policies` (
	`uuid` text PRIMARY KEY NOT NULL,
	`namespace_id` integer NOT NULL,
	`repository_id` integer,
	`method` text NOT NULL,
	`value` text NOT NULL,
	`tag_pattern` text,
	`tag_pattern_matches` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `autoprune_policies_namespace_idx` ON `autoprune_policies` (`namespace_id`,`repository_id`);--> statement-breakpoint
CREATE TABLE `gc_state` (
	`pass` text PRIMARY KEY NOT NULL,
	`cursor` text NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `manifest_labels` (
	`id` text PRIMARY KEY NOT NULL,
	`manifest_id` integer NOT NULL,
	`key` text NOT NULL,
	`value` text NOT NULL,
	`source_type` text NOT NULL,
	`media_type` text DEFAULT 'text/plain' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`manifest_id`) REFERENCES `manifests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `manifest_labels_manifest_idx` ON `manifest_labels` (`manifest_id`);--> statement-breakpoint
ALTER TABLE `blobs` ADD `last_used_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `repositories` ADD `storage_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `storage_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `tags_end_idx` ON `tags` (`lifetime_end_ms`);