// The node's transparency log over HTTP (C2SP tlog-tiles + checkpoint), checked by recomputing
// everything from the served entries with the project's own RFC 6962 code; and checkpoints that
// never go backwards across kill -9.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "crypto/merkle.h"
#include "crypto/note.h"
#include "harness/eventually.h"
#include "harness/node_process.h"

namespace lapor::testing {
namespace {

using nlohmann::json;

json Complaint(int i) {
  return json{{"title", "Lampu jalan mati " + std::to_string(i)},
              {"description", "Sudah seminggu gelap."},
              {"category", "penerangan"},
              {"report_type", "pengaduan"},
              {"region_code", "32.73"},
              {"reporter", {{"name", "Rahmat Hidayat"}, {"nik", "3273010101010001"}}}};
}

// The checkpoint, verified against the node's published verifier key.
crypto::Checkpoint FetchCheckpoint(const NodeProcess& node) {
  auto vkey = node.Get("/log/vkey");
  EXPECT_EQ(vkey.status, 200);
  std::string vk = vkey.body.substr(0, vkey.body.find('\n'));
  auto verifier = crypto::NoteVerifier::Parse(vk);
  EXPECT_TRUE(verifier.ok()) << vk;
  auto resp = node.Get("/log/checkpoint");
  EXPECT_EQ(resp.status, 200);
  auto note = crypto::SignedNote::Parse(resp.body);
  EXPECT_TRUE(note.ok()) << resp.body;
  EXPECT_TRUE(crypto::VerifyNote(*note, *verifier).ok());
  auto cp = crypto::Checkpoint::ParseBody(note->text);
  EXPECT_TRUE(cp.ok()) << note->text;
  EXPECT_EQ(cp->origin, "lapor.go.id/node/32");
  return *cp;
}

crypto::Checkpoint WaitForSize(const NodeProcess& node, uint64_t size) {
  crypto::Checkpoint cp;
  EXPECT_TRUE(Eventually("the checkpoint covers " + std::to_string(size) + " entries",
                         [&] {
                           cp = FetchCheckpoint(node);
                           return cp.size >= size;
                         }))
      << "checkpoint stuck at " << cp.size;
  return cp;
}

std::vector<std::string> SplitBundle(const std::string& bundle) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 2 <= bundle.size()) {
    size_t len =
        (static_cast<unsigned char>(bundle[at]) << 8) | static_cast<unsigned char>(bundle[at + 1]);
    out.push_back(bundle.substr(at + 2, len));
    at += 2 + len;
  }
  EXPECT_EQ(at, bundle.size()) << "entry bundle does not end on an entry";
  return out;
}

std::vector<std::string> Base64List(const json& arr) {
  std::vector<std::string> out;
  for (const auto& h : arr) out.push_back(*crypto::Base64Decode(h.get<std::string>()));
  return out;
}

TEST(NodeLogTest, TilesCheckpointsAndProofsRecomputeFromEntries) {
  NodeProcess node(MakeTempDir("lapor-log") + "/node");
  node.Init("32");
  node.Start();
  auto empty = FetchCheckpoint(node);
  EXPECT_EQ(empty.size, 0u);
  EXPECT_EQ(empty.root_hash, crypto::EmptyRoot());

  constexpr int kCases = 300;
  for (int i = 0; i < kCases; ++i)
    ASSERT_EQ(node.Post("/api/v1/complaints", Complaint(i)).status, 201);
  auto cp = WaitForSize(node, kCases);
  ASSERT_EQ(cp.size, static_cast<uint64_t>(kCases));
  const uint64_t partial = kCases - 256;

  // Entries: one full bundle and one partial; leaf hashes; the root.
  auto full = node.Get("/log/tile/entries/000");
  ASSERT_EQ(full.status, 200);
  EXPECT_NE(full.headers["cache-control"].find("immutable"), std::string::npos);
  auto part = node.Get("/log/tile/entries/001.p/" + std::to_string(partial));
  ASSERT_EQ(part.status, 200);
  EXPECT_EQ(part.headers["cache-control"], "no-store");
  auto entries = SplitBundle(full.body);
  auto more = SplitBundle(part.body);
  entries.insert(entries.end(), more.begin(), more.end());
  ASSERT_EQ(entries.size(), static_cast<size_t>(kCases));
  crypto::MemoryTree tree;
  for (const auto& e : entries) {
    EXPECT_EQ(e.find("Rahmat"), std::string::npos) << "personal data in the log";
    EXPECT_EQ(e.find("3273010101010001"), std::string::npos) << "personal data in the log";
    tree.Append(e);
  }
  ASSERT_TRUE(crypto::RootAt(tree.reader(), kCases).ok());
  EXPECT_EQ(*crypto::RootAt(tree.reader(), kCases), cp.root_hash);

  // Hash tiles agree with the recomputed tree, including the one-hash tile of level 1.
  auto tile0 = node.Get("/log/tile/0/000");
  ASSERT_EQ(tile0.status, 200);
  ASSERT_EQ(tile0.body.size(), 256u * 32);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(tile0.body.substr(i * 32, 32), crypto::LeafHash(entries[i])) << i;
  }
  auto tile0p = node.Get("/log/tile/0/001.p/" + std::to_string(partial));
  ASSERT_EQ(tile0p.status, 200);
  EXPECT_EQ(tile0p.body.substr(0, 32), crypto::LeafHash(entries[256]));
  auto tile1 = node.Get("/log/tile/1/000.p/1");
  ASSERT_EQ(tile1.status, 200);
  EXPECT_EQ(tile1.body, *crypto::SubtreeRoot(tree.reader(), 0, 256));

  // What the checkpoint does not cover is not served; bad paths are 404.
  EXPECT_EQ(node.Get("/log/tile/0/001").status, 404);
  EXPECT_EQ(node.Get("/log/tile/entries/001.p/" + std::to_string(partial + 1)).status, 404);
  EXPECT_EQ(node.Get("/log/tile/1/000").status, 404);
  EXPECT_EQ(node.Get("/log/tile/0/0001").status, 404);
  EXPECT_EQ(node.Get("/log/tile/0/000.p/0").status, 404);
  EXPECT_EQ(node.Get("/log/nothing").status, 404);

  // Proofs verify against the signed root.
  auto inc = node.Get("/log/proof/inclusion?index=7&size=" + std::to_string(kCases)).Json();
  EXPECT_TRUE(crypto::VerifyInclusion(crypto::LeafHash(entries[7]), 7, kCases,
                                      Base64List(inc["proof"]), cp.root_hash)
                  .ok());
  auto con = node.Get("/log/proof/consistency?old=10&new=" + std::to_string(kCases)).Json();
  EXPECT_TRUE(crypto::VerifyConsistency(10, kCases, *crypto::RootAt(tree.reader(), 10),
                                        cp.root_hash, Base64List(con["proof"]))
                  .ok());
  EXPECT_EQ(node.Get("/log/proof/inclusion?index=5&size=100000").status, 404);
  EXPECT_EQ(node.Get("/log/proof/inclusion?index=5&size=5").status, 400);
  EXPECT_EQ(node.Get("/log/proof/consistency?old=20&new=10").status, 400);
  EXPECT_EQ(node.Get("/log/proof/inclusion?index=x&size=5").status, 400);
}

TEST(NodeLogTest, CheckpointsNeverGoBackwardsAcrossKill9) {
  NodeProcess node(MakeTempDir("lapor-log-crash") + "/node");
  node.Init("32");
  crypto::Checkpoint last;
  std::string last_root;
  for (int round = 0; round < 3; ++round) {
    node.Start();
    auto before = FetchCheckpoint(node);
    EXPECT_GE(before.size, last.size) << "checkpoint went backwards after a restart";
    if (last.size > 0) {
      // The new tree extends the one seen before the kill.
      auto con = node.Get("/log/proof/consistency?old=" + std::to_string(last.size) +
                          "&new=" + std::to_string(before.size))
                     .Json();
      EXPECT_TRUE(crypto::VerifyConsistency(last.size, before.size, last.root_hash,
                                            before.root_hash, Base64List(con["proof"]))
                      .ok());
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&] {
        for (int i = 0; !stop; ++i) node.Post("/api/v1/complaints", Complaint(i));
      });
    }
    // An auditor sees a checkpoint that covers this round's complaints, just before the crash.
    // (EXPECT, not ASSERT: the clients must be stopped and joined whatever happens.)
    EXPECT_TRUE(
        Eventually("a checkpoint beyond " + std::to_string(before.size) + " is published", [&] {
          last = FetchCheckpoint(node);
          return last.size > before.size;
        }));
    // The load goes on past that checkpoint for a while (time passes on purpose): the kill lands
    // mid-load, with complaints acknowledged after the checkpoint the auditor saw.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    node.Kill9();
    stop = true;
    for (auto& t : clients) t.join();
  }
  node.Start();
  auto final_cp = FetchCheckpoint(node);
  EXPECT_GE(final_cp.size, last.size);
  node.Kill9();
  auto fsck = node.Fsck();
  EXPECT_EQ(fsck.exit_code, 0) << fsck.output;
}

// checkpoint_interval_ms spaces signed checkpoints out (a machine hosting hundreds of nodes sets
// it higher): an event committed right after a checkpoint waits for the next one, which still
// comes. Values out of range stop the node from starting, naming the file.
TEST(NodeLogTest, CheckpointIntervalSpacesSignedCheckpoints) {
  NodeProcess node(MakeTempDir("lapor-log-interval") + "/node");
  node.Init("32");
  for (auto [key, fine] : {std::pair{"checkpoint_interval_ms", 250},
                           {"wal_checkpoint_interval_ms", 200},
                           {"discovery_interval_ms", 2000}}) {
    node.SetConfig(key, 5);
    auto refused = node.Cli({"run", "--data-dir", node.data_dir(), "--listen", "127.0.0.1:0"});
    EXPECT_NE(refused.exit_code, 0) << key;
    EXPECT_NE(refused.output.find("out of range"), std::string::npos) << refused.output;
    node.SetConfig(key, fine);
  }

  node.SetConfig("checkpoint_interval_ms", 4000);
  node.Start();
  ASSERT_EQ(node.Post("/api/v1/complaints", Complaint(0)).status, 201);
  WaitForSize(node, 1);
  const auto seen = std::chrono::steady_clock::now();
  ASSERT_EQ(node.Post("/api/v1/complaints", Complaint(1)).status, 201);
  // The checkpoint covering the first complaint was signed before `seen`: the next one is due no
  // earlier than 4 s after it, so 1.5 s after `seen` (whatever the machine's load) none is there.
  std::this_thread::sleep_until(seen + std::chrono::milliseconds(1500));
  EXPECT_EQ(FetchCheckpoint(node).size, 1u) << "a checkpoint came sooner than the interval";
  WaitForSize(node, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - seen, std::chrono::milliseconds(2000));
}

TEST(NodeLogTest, FsckChecksTheTreeAndCheckpoint) {
  NodeProcess node(MakeTempDir("lapor-log-fsck") + "/node");
  node.Init("32");
  node.Start();
  for (int i = 0; i < 600; ++i)
    ASSERT_EQ(node.Post("/api/v1/complaints", Complaint(i)).status, 201);
  WaitForSize(node, 600);
  EXPECT_EQ(node.Stop(), 0);
  auto clean = node.Fsck();
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_NE(clean.output.find("checkpoint 600 checked"), std::string::npos) << clean.output;
  const std::string db = node.data_dir() + "/lapor.db";
  auto sql = [&](const std::string& q) {
    auto r = RunCommand({"/usr/bin/sqlite3", db, q});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  sql("UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 8 AND idx = 1");
  auto bad_node = node.Fsck();
  EXPECT_NE(bad_node.exit_code, 0);
  EXPECT_NE(bad_node.output.find("stored tree node level 8 index 1 differs"), std::string::npos)
      << bad_node.output;
  // The two full tiles' leaf hashes are stored (they serve level-0 tiles and proofs); a changed
  // one is named.
  auto tiles = RunCommand({"/usr/bin/sqlite3", db, "SELECT group_concat(idx) FROM leaf_tiles"});
  EXPECT_EQ(tiles.output, "0,1\n");
  sql("UPDATE leaf_tiles SET hashes = zeroblob(8192) WHERE idx = 1");
  auto bad_tile = node.Fsck();
  EXPECT_NE(bad_tile.exit_code, 0);
  EXPECT_NE(bad_tile.output.find("leaf tile 1: the stored leaf hashes differ"), std::string::npos)
      << bad_tile.output;
  sql("UPDATE checkpoints SET root = zeroblob(32) WHERE size = 600");
  auto bad_root = node.Fsck();
  EXPECT_NE(bad_root.output.find("signed body does not match the stored checkpoint"),
            std::string::npos)
      << bad_root.output;
}

TEST(NodeLogTest, CanBeRestrictedToAuditors) {
  NodeProcess node(MakeTempDir("lapor-log-auth") + "/node");
  node.Init("32");
  {
    std::ifstream in(node.data_dir() + "/node.json");
    auto j = json::parse(in);
    j["log_requires_auditor"] = true;
    std::ofstream(node.data_dir() + "/node.json") << j.dump(2);
  }
  std::string auditor = node.AddOperator("Auditor", "auditor");
  std::string liaison = node.AddOperator("Liaison", "liaison", "dinas-pu");
  node.Start();
  EXPECT_EQ(node.Get("/log/checkpoint").status, 401);
  EXPECT_EQ(node.Get("/log/checkpoint", liaison).status, 403);
  EXPECT_EQ(node.Get("/log/checkpoint", auditor).status, 200);
  EXPECT_EQ(node.Get("/log/tile/entries/000.p/1", auditor).status, 404);  // empty log
}

}  // namespace
}  // namespace lapor::testing
