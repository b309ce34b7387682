ALTER TABLE `access_tokens` ADD `uuid` text;--> statement-breakpoint
ALTER TABLE `access_tokens` ADD `sealed_code` text;--> statement-breakpoint
CREATE UNIQUE INDEX `access_tokens_uuid_unique` ON `access_tokens` (`uuid`);