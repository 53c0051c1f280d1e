#!/usr/bin/env node
/** `moat`: client of moatd (fail2ban-client compatible); `moat regex ...` and `moat console` are subcommands. */
import { runClient } from '../client/index.ts';

const code = await runClient(process.argv.slice(2));
process.exitCode = code;
