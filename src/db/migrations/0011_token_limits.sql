ALTER TABLE `tokens` ADD `rate_limit_requests` integer;--> statement-breakpoint
ALTER TABLE `tokens` ADD `rate_limit_per_ms` integer;--> statement-breakpoint
ALTER TABLE `tokens` ADD `remaining_uses` integer;--> statement-breakpoint
ALTER TABLE `tokens` ADD `refill_uses` integer;--> statement-breakpoint
ALTER TABLE `tokens` ADD `refill_every_ms` integer;--> statement-breakpoint
ALTER TABLE `tokens` ADD `refilled_at` integer;--> statement-breakpoint
ALTER TABLE `tokens` ADD `scopes` text;--> statement-breakpoint
ALTER TABLE `users` ADD `scopes` text;