#include "node/citizen_router.h"

#include <memory>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "crypto/encoding.h"
#include "node/api_codec.h"
#include "node/media.h"

namespace lapor::node {

using nlohmann::json;

bool IsComplaintsPath(const Request& req) {
  const auto& s = req.segments;
  return s.size() >= 3 && s[0] == "api" && s[1] == "v1" && s[2] == "complaints";
}

bool IsUploadPath(const Request& req) {
  const auto& s = req.segments;
  return s.size() == 3 && s[0] == "api" && s[1] == "v1" && s[2] == "attachments";
}

bool CitizenRouter::Handle(const Request& req, const Reply& reply) {
  if (IsUploadPath(req)) {
    if (req.method != "POST") return Fail(reply, Status::MethodNotAllowed("use POST"));
    return Upload(req, reply);
  }
  if (!IsComplaintsPath(req)) return false;
  const auto& segments = req.segments;
  if (segments.size() == 3) return req.method == "POST" && Submit(req, reply);
  const std::string& case_id = req.decoded_segments[3];
  if (segments.size() == 4 && req.method == "GET") return View(req, case_id, reply);
  if (segments.size() == 6 && segments[4] == "attachments") {
    if (req.method != "GET") return Fail(reply, Status::MethodNotAllowed("use GET"));
    return File(req, case_id, req.decoded_segments[5], reply);
  }
  return false;
}

// A citizen's write (a filing, an upload): no query parameters, and a token sent along must be a
// real one, since an operator is not held to the per-client filing limit (rate_limiter.h).
static Status CheckCitizenWrite(CaseService* service, const Request& req) {
  auto q = Query(req, {});
  if (!q.ok()) return q.status();
  return ClaimsOperator(req) ? RequireOperator(service, req) : Status::Ok();
}

bool CitizenRouter::Upload(const Request& req, const Reply& reply) {
  if (Status s = CheckCitizenWrite(service_, req); !s.ok()) return Fail(reply, s);
  const std::string media = HeaderMediaType(req.Header("Content-Type").value_or(""));
  auto clean = CleanAttachment(media, req.body);
  if (!clean.ok()) return Fail(reply, clean.status());
  const std::string sha = crypto::Sha256(*clean);
  const size_t size = clean->size();
  const std::string id =
      uploads_->Put(UploadStore::File{media, sha, std::move(*clean)}, req.now_ms);
  return Send(reply, 201,
              {{"upload", id},
               {"sha256", crypto::HexEncode(sha)},
               {"media_type", media},
               {"size", size},
               {"metadata_removed", media != "application/pdf"}});
}

bool CitizenRouter::File(const Request& req, const std::string& case_id, const std::string& hex,
                         const Reply& reply) {
  auto sha = crypto::HexDecode(hex);
  if (!sha || sha->size() != crypto::kSha256Size) {
    return Fail(reply, Status::InvalidArgument("must be 64 hex characters", "sha256"));
  }
  auto who = CallerOf(service_, req);
  if (!who.ok()) return Fail(reply, who.status());
  auto file = service_->Attachment(case_id, *sha, *who);
  if (!file.ok()) return Fail(reply, file.status());
  // Only a type this node serves (a member's file of another type was never kept; belt and
  // braces): the browser must not render anything else from the node's origin.
  if (!IsAcceptedMediaType(file->media_type)) {
    return Fail(reply, Status::NotFound("this node serves no such file", "sha256"));
  }
  const std::string ext = file->media_type == "image/jpeg"        ? ".jpg"
                          : file->media_type == "image/png"       ? ".png"
                          : file->media_type == "application/pdf" ? ".pdf"
                                                                  : "";
  // Downloaded, never shown inside the node's origin: a file is the reporter's, not the node's.
  Response r = RawResponse(200, std::move(file->bytes), file->media_type, "private, no-store");
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"lampiran-" + hex.substr(0, 12) + ext + "\"");
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; sandbox");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply(std::move(r));
  return true;
}

bool CitizenRouter::Submit(const Request& req, const Reply& reply) {
  if (Status s = CheckCitizenWrite(service_, req); !s.ok()) return Fail(reply, s);
  auto body = ParseJson(req, max_body_bytes_);
  if (!body.ok()) return Fail(reply, body.status());
  SubmitRequest sr;
  Status s = ParseSubmit(*body, &sr);
  if (!s.ok()) return Fail(reply, s);
  // The files uploaded here for its attachments go with it: taken out of the upload store (one
  // filing gets each), put back if the filing fails.
  auto taken = std::make_shared<std::vector<std::pair<std::string, UploadStore::File>>>();
  auto put_back = [uploads = uploads_, taken, now = req.now_ms] {
    for (auto& [id, file] : *taken) uploads->PutBack(id, std::move(file), now);
    taken->clear();
  };
  for (const auto& a : sr.attachments) {
    if (a.upload.empty()) continue;
    auto f = uploads_->Take(a.upload, req.now_ms);
    Status bad;
    if (!f) {
      bad = Status::InvalidArgument(
          "no such upload here: it was filed already, or is older than an hour; upload the file "
          "again",
          "attachments.upload");
    } else if (f->sha256 != a.sha256 || f->media_type != a.media_type ||
               f->bytes.size() != a.size) {
      bad = Status::InvalidArgument("is not the upload's sha256, media_type and size",
                                    "attachments.upload");
    } else if (taken->size() >= kMaxFilesPerComplaint) {
      bad = Status::InvalidArgument(
          "at most " + std::to_string(kMaxFilesPerComplaint) + " uploaded files per complaint",
          "attachments");
    }
    if (f) taken->emplace_back(a.upload, std::move(*f));
    if (!bad.ok()) {
      put_back();
      return Fail(reply, bad);
    }
    sr.files[a.sha256] = taken->back().second.bytes;
  }
  service_->Submit(sr, [on_pool = on_pool_, reply, taken, put_back](Result<SubmitResult> r) {
    // On an HTTP thread, not the committer's (which may run this callback): filed, the files are
    // in the store now; refused, the uploads wait for another try.
    on_pool([reply, taken, put_back, r = std::move(r)] {
      if (r.ok()) {
        for (auto& [id, file] : *taken) crypto::Wipe(&file.bytes);
      } else {
        put_back();
      }
      if (!r.ok()) return reply(ErrorResponse(r.status()));
      reply(RawResponse(201, SubmittedJson(*r), "application/json", "no-store"));
    });
  });
  return true;
}

bool CitizenRouter::View(const Request& req, const std::string& case_id, const Reply& reply) {
  auto who = CallerOf(service_, req);
  if (!who.ok()) return Fail(reply, who.status());
  auto view = service_->View(case_id, *who);
  if (!view.ok()) return Fail(reply, view.status());
  return Send(reply, 200, ViewJson(*view, req.now_ms));
}

}  // namespace lapor::node
