ALTER TABLE `sessions` ADD `console_hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `sessions_console_hash_unique` ON `sessions` (`console_hash`);