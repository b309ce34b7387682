CREATE TABLE `repository_pull_stats` (
	`repository_id` integer NOT NULL,
	`day` text NOT NULL,
	`pulls` integer NOT NULL,
	`last_pulled_at` integer NOT NULL,
	PRIMARY KEY(`repository_id`, `day`),
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
