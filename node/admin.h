// The admin subcommands of lapor-node: every one but `run` (node/main.cc parses the arguments and
// dispatches). Each works on a data folder and needs no running node. Each prints its result on
// stdout and returns the process's exit code: 0 on success; on failure it prints the error on
// stderr (Fail) and returns 2 for invalid arguments, 1 otherwise (fsck: also 1 when it found
// problems).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "storage/store.h"

namespace lapor::node {

// Prints "lapor-node: <status>" on stderr; returns 2 for InvalidArgument, else 1.
int Fail(const Status& s);

// init: creates the data folder, its keys and config, and the database; prints the public key.
int Init(const std::string& dir, const std::string& jurisdiction, const std::string& listen,
         const std::string& origin, const std::string& hub_key, const std::string& hub_url);

// operator add/list/remove/rotate. Tokens are printed once; only their SHA-256 is stored.
// expires_in_days: 0 for no expiry; for rotate, negative keeps the expiry the operator has.
int AddOperator(const std::string& dir, const std::string& name, const std::string& role,
                const std::string& agency, int expires_in_days);
int ListOperators(const std::string& dir);
int RemoveOperator(const std::string& dir, uint64_t id);
int RotateOperator(const std::string& dir, uint64_t id, int expires_in_days);

// wal truncate: copies the write-ahead log into the database and empties it.
int TruncateWal(const std::string& dir);
// vkey: the log's verifier key, or with `witness` the cosigner key the node witnesses with.
int PrintVkey(const std::string& dir, bool witness);
// fsck: verifies signatures, chains, sequence and state.
int RunFsck(const std::string& dir);
// export-audit-bundle: the log up to its latest checkpoint, the manifest and the other nodes'
// events of its cases, in one file (written whole, then renamed).
int ExportAuditBundle(const std::string& dir, const std::string& out);
// federation add-member/remove-member/rotate-key (`op`: add, remove or rotate), on the hub only:
// edits the manifest and publishes the next version, fresh for node.json manifest_validity_ms.
// A rotation takes the member's statement (base64, from `key new`; `key_hex` may be empty, else
// it must be the statement's new key) or the record of an out-of-band confirmation (with
// `key_hex`). add-member records `confirmed_out_of_band` too if given (a member added again with
// a new key: nodes that saw it removed want a vouch, as for a key change).
int EditManifest(const std::string& dir, const std::string& op, const std::string& jurisdiction,
                 const std::string& url, const std::string& key_hex, int overlap_hours,
                 const std::string& statement_b64, const std::string& confirmed_out_of_band);
// key new (a member): makes the key the node will change to (node.key.next, 0600; an existing
// one is kept) and prints the member's statement, signed by its current key, that the hub's
// operator passes to `federation rotate-key --statement`.
int NewKey(const std::string& dir);
// key activate (a member, node stopped): makes node.key.next the node's key once the manifest the
// node holds lists it as valid now (a standalone node's, with no hub, at once). The earlier key is
// kept as node.key.retired-<ms>: boxes sealed to it still open, the events and checkpoints it
// signed still verify (fsck, recovery). Prints the new log key for witnesses and auditors.
int ActivateKey(const std::string& dir);
// log continue (node stopped): when others have seen more of the node's log than it holds and
// nobody holds the missing events (a restore from an old backup, node/node_context.h), records
// seq [held, seen) as lost: a placeholder entry for each and a signed EVENT_LOG_GAP at seq `seen`
// that declares them, in one transaction. The log then continues under a new origin (node.json;
// its witnesses must cosign the new log key, which it prints). `seen_size`: the size others saw,
// if more than the node recorded (0: the record alone). Run again after a crash, it finishes.
int ContinueLog(const std::string& dir, uint64_t seen_size);
// Ok unless the store records a `log continue` whose new origin node.json (`origin`) does not
// name yet (Conflict, saying to run it again): the node must not sign under the old origin.
Status CheckLogGapFinished(storage::Store* store, const std::string& origin);
// backup: a consistent copy of the data folder in one file `out` (the database through SQLite's
// online backup API, so the node may keep serving; config, keys and holiday calendar beside it),
// restored into a scratch folder and checked with fsck before it is reported; 0600. Refuses an
// existing `out` unless `overwrite`.
int Backup(const std::string& dir, const std::string& out, bool overwrite);
// restore: a backup into a new, empty data folder `dir` (0700), checked with fsck, and marked as
// restored: the node then signs nothing until the hub or a witness confirms that no other node
// has seen more of its log (node/node_context.h, CheckLogWhole).
int Restore(const std::string& from, const std::string& dir);
// witness add/remove/list (a member: the witnesses its checkpoints go to, node.json "witnesses")
// and witness cosign/uncosign (the hub: the logs it witnesses, "witness_of"). Keys are checked
// (a cosigner key 0x04 for a witness, a log key 0x01 for a log) and node.json is rewritten whole
// (0600, renamed into place). Takes effect when the node next starts.
int EditWitnesses(const std::string& dir, const std::string& op, const std::string& url,
                  const std::string& vkey);
// pii erase: erases a case's reporter record (and its copies queued for other nodes), then
// empties the write-ahead log.
int ErasePii(const std::string& dir, const std::string& tracking_id);

}  // namespace lapor::node
