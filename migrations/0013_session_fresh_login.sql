ALTER TABLE `sessions` ADD `authenticated_at` integer;--> statement-breakpoint
-- Quay names every OAuth token by a uuid (GET /api/v1/user/authorizations/{uuid}); tokens minted
-- before OAuth tokens had one get a random version-4 uuid.
UPDATE `access_tokens` SET `uuid` = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))) WHERE `kind` = 'oauth' AND `uuid` IS NULL;
