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
