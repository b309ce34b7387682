CREATE TABLE `federated_logins` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`user_id` integer NOT NULL,
	`service_id` text NOT NULL,
	`subject` text NOT NULL,
	`service_username` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `federated_logins_subject_unique` ON `federated_logins` (`service_id`,`subject`);--> statement-breakpoint
CREATE UNIQUE INDEX `federated_logins_user_service_unique` ON `federated_logins` (`user_id`,`service_id`);