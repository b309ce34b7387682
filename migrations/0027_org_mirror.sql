CREATE TABLE `org_mirror_configs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`organization_id` integer NOT NULL,
	`robot_user_id` integer,
	`is_enabled` integer DEFAULT true NOT NULL,
	`registry_type` text NOT NULL,
	`registry_url` text NOT NULL,
	`external_namespace` text NOT NULL,
	`sealed_username` text,
	`sealed_password` text,
	`external_registry_config` text DEFAULT '{}' NOT NULL,
	`repository_filters` text DEFAULT '[]' NOT NULL,
	`visibility` text NOT NULL,
	`sync_interval` integer NOT NULL,
	`sync_start_date` integer,
	`sync_expiration_date` integer,
	`sync_retries_remaining` integer DEFAULT 3 NOT NULL,
	`sync_status` text DEFAULT 'NEVER_RUN' NOT NULL,
	`sync_transaction_id` text NOT NULL,
	`skopeo_timeout` integer DEFAULT 300 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`robot_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `org_mirror_configs_organization_unique` ON `org_mirror_configs` (`organization_id`);--> statement-breakpoint
CREATE INDEX `org_mirror_configs_due_idx` ON `org_mirror_configs` (`sync_start_date`);--> statement-breakpoint
CREATE INDEX `org_mirror_configs_robot_idx` ON `org_mirror_configs` (`robot_user_id`);--> statement-breakpoint
CREATE TABLE `org_mirror_repositories` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`org_mirror_id` integer NOT NULL,
	`repository_name` text NOT NULL,
	`repository_id` integer,
	`discovery_date` integer NOT NULL,
	`status_message` text,
	FOREIGN KEY (`org_mirror_id`) REFERENCES `org_mirror_configs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `org_mirror_repositories_name_unique` ON `org_mirror_repositories` (`org_mirror_id`,`repository_name`);--> statement-breakpoint
CREATE INDEX `org_mirror_repositories_repository_idx` ON `org_mirror_repositories` (`repository_id`);