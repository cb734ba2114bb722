// The agent's exit statuses: the one list. Swift reads it (ExitStatus),
// the C watchdog uses it, and `resume-agent --exit-codes` prints it as
// shell assignments for the boot script and the boot tests.
#ifndef RESUME_EXIT_H
#define RESUME_EXIT_H

/// Done: the agent decided not to resume (or could not), memory is online,
/// the normal boot goes on.
#define RESUME_EXIT_CONTINUE 0
/// As PID 1: no next init could be executed (the kernel then panics).
#define RESUME_EXIT_NO_INIT 1
/// Refused to run (wrong context, bad arguments): nothing was done.
#define RESUME_EXIT_REFUSED 2
/// The watchdog fired (resume_agent.timeout): the agent gave up mid-way;
/// the boot script brings memory online.
#define RESUME_EXIT_WATCHDOG 3
/// --early (before local-top): the resume device is not there yet (it may
/// be an LVM or dm-crypt volume local-top assembles), so the decision waits
/// for the run after local-top. Nothing was done; memory stays offline.
#define RESUME_EXIT_DEFERRED 4

#endif
