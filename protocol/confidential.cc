#include "protocol/confidential.h"

namespace lapor::protocol {

std::optional<v1::SealedText> TakeContent(v1::Event* e) {
  v1::SealedText text;
  bool any = false;
  auto take = [&any](std::string* from, std::string* to) {
    if (from->empty()) return;
    any = true;
    *to = std::move(*from);
    from->clear();
  };
  if (e->has_submission()) {
    auto* sub = e->mutable_submission();
    take(sub->mutable_title(), text.mutable_title());
    take(sub->mutable_description(), text.mutable_description());
    take(sub->mutable_category(), text.mutable_category());
    take(sub->mutable_report_type(), text.mutable_report_type());
    take(sub->mutable_region_code(), text.mutable_region_code());
    take(sub->mutable_target_agency(), text.mutable_target_agency());
    take(sub->mutable_channel(), text.mutable_channel());
    if (sub->has_location()) {
      any = true;
      text.set_has_location(true);
      text.set_lat(sub->lat());
      text.set_lon(sub->lon());
      sub->clear_has_location();
      sub->clear_lat();
      sub->clear_lon();
    }
    if (sub->attachments_size() > 0) {
      any = true;
      text.mutable_attachments()->Swap(sub->mutable_attachments());
      sub->clear_attachments();
    }
  }
  if (e->has_action()) {
    auto* a = e->mutable_action();
    take(a->mutable_note(), text.mutable_note());
    take(a->mutable_agency(), text.mutable_agency());
    take(a->mutable_reason(), text.mutable_reason());
    take(a->mutable_duplicate_of(), text.mutable_duplicate_of());
    if (a->rating() != 0) {
      any = true;
      text.set_rating(a->rating());
      a->clear_rating();
    }
  }
  if (!any) return std::nullopt;
  return text;
}

void RestoreContent(const v1::SealedText& text, v1::Event* e) {
  auto put = [](const std::string& from, std::string* to) {
    if (!from.empty()) *to = from;
  };
  if (e->has_submission()) {
    auto* sub = e->mutable_submission();
    put(text.title(), sub->mutable_title());
    put(text.description(), sub->mutable_description());
    put(text.category(), sub->mutable_category());
    put(text.report_type(), sub->mutable_report_type());
    put(text.region_code(), sub->mutable_region_code());
    put(text.target_agency(), sub->mutable_target_agency());
    put(text.channel(), sub->mutable_channel());
    if (text.has_location()) {
      sub->set_has_location(true);
      sub->set_lat(text.lat());
      sub->set_lon(text.lon());
    }
    if (text.attachments_size() > 0) *sub->mutable_attachments() = text.attachments();
  }
  if (e->has_action()) {
    auto* a = e->mutable_action();
    put(text.note(), a->mutable_note());
    put(text.agency(), a->mutable_agency());
    put(text.reason(), a->mutable_reason());
    put(text.duplicate_of(), a->mutable_duplicate_of());
    if (text.rating() != 0) a->set_rating(text.rating());
  }
}

void ApplyContent(const v1::Event& e, v1::CaseState* s) {
  switch (e.type()) {
    case v1::EVENT_SUBMITTED: {
      const auto& sub = e.submission();
      s->set_report_type(sub.report_type());
      s->set_category(sub.category());
      s->set_region_code(sub.region_code());
      s->set_agency(sub.target_agency());
      break;
    }
    case v1::EVENT_VERIFIED:
    case v1::EVENT_DISPOSED:
      if (!e.action().agency().empty()) s->set_agency(e.action().agency());
      break;
    case v1::EVENT_ARCHIVED:
      if (!e.action().reason().empty()) s->set_archive_reason(e.action().reason());
      if (!e.action().duplicate_of().empty()) s->set_duplicate_of(e.action().duplicate_of());
      break;
    case v1::EVENT_ACCEPTED:
      s->set_agency("");  // the new owner dispositions it to one of its agencies
      break;
    case v1::EVENT_RATED:
      // A sealed rating is checked only here, by whoever opens it.
      if (e.action().rating() >= 1 && e.action().rating() <= 5) s->set_rating(e.action().rating());
      break;
    default:
      break;
  }
}

void ClearContent(v1::CaseState* s) {
  s->clear_report_type();
  s->clear_category();
  s->clear_region_code();
  s->clear_agency();
  s->clear_archive_reason();
  s->clear_duplicate_of();
  s->clear_rating();
}

}  // namespace lapor::protocol
