import type { Command, CommandGroup } from "../command";
import { auditCommand } from "./audit";
import { backupCommand, restoreCommand } from "./backup";
import { deviceCommands } from "./device";
import { migrateCommand } from "./migrate";
import { serveCommand } from "./serve";
import { serviceCommands } from "./service";
import { sessionCommands } from "./session";
import { tlsCommands } from "./tls";
import { tokenCommands } from "./token";
import { usageCommand } from "./usage";
import { userCommands } from "./user";

/** Every command, in the order `keyward --help` lists them. */
export const commands: (Command | CommandGroup)[] = [serveCommand, migrateCommand, tokenCommands, userCommands, sessionCommands, deviceCommands, auditCommand, usageCommand, backupCommand, restoreCommand, serviceCommands, tlsCommands];
