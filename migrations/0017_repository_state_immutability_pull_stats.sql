CREATE TABLE `immutability_policies` (
	`uuid` text PRIMARY KEY NOT NULL,
	`namespace_id` integer NOT NULL,
	`repository_id` integer,
	`tag_pattern` text NOT NULL,
	`tag_pattern_matches` integer DEFAULT true NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `immutability_policies_namespace_idx` ON `immutability_policies` (`namespace_id`,`repository_id`);--> statement-breakpoint
CREATE INDEX `immutability_policies_repository_idx` ON `immutability_policies` (`repository_id`);--> statement-breakpoint
CREATE TABLE `manifest_pull_stats` (
	`repository_id` integer NOT NULL,
	`digest` text NOT NULL,
	`pulls` integer NOT NULL,
	`last_pulled_at` integer NOT NULL,
	PRIMARY KEY(`repository_id`, `digest`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `tag_pull_stats` (
	`repository_id` integer NOT NULL,
	`tag` text NOT NULL,
	`pulls` integer NOT NULL,
	`last_pulled_at` integer NOT NULL,
	`last_digest` text NOT NULL,
	PRIMARY KEY(`repository_id`, `tag`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `repositories` ADD `state` text DEFAULT 'NORMAL' NOT NULL;