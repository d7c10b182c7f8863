// External mappings managed at run time (SPEC §5 /mappings).
#include <charconv>

#include "rows.hpp"
#include "sqlite_store.hpp"

namespace meterbridge::store {

Result<std::vector<ExternalMapping>> SqliteStore::list_mappings() {
    return read([](sqlite::Database& db) -> Result<std::vector<ExternalMapping>> {
        std::vector<ExternalMapping> out;
        sqlite::Statement st = db.prepare(
            "SELECT id, m3ter_entity, m3ter_id, external_system, external_table, external_id, plan_id, integration_id "
            "FROM mappings ORDER BY id");
        while (st.step()) {
            ExternalMapping m;
            m.id = std::to_string(st.int64(0));
            m.m3ter_entity = mapping_entity_from(st.text(1)).value_or(MappingEntity::Account);
            m.m3ter_id = st.text(2);
            m.external_system = st.text(3);
            m.external_table = external_table_from(st.text(4)).value_or(ExternalTable::Subscription);
            m.external_id = st.text(5);
            m.plan_id = st.text(6);
            m.integration_id = st.text(7);
            out.push_back(std::move(m));
        }
        return out;
    });
}

Result<std::string> SqliteStore::add_mapping(const ExternalMapping& m) {
    return write([&](sqlite::Database& db) -> Result<std::string> {
        // Checked first rather than read off the UNIQUE violation, to name the holder.
        const auto existing = db.query_int(
            "SELECT id FROM mappings WHERE m3ter_entity = ?1 AND m3ter_id = ?2 AND external_table = ?3 "
            "AND integration_id = ?4",
            to_string(m.m3ter_entity), m.m3ter_id, to_string(m.external_table), m.integration_id);
        if (existing) {
            return make_error(std::string(kDuplicateMapping),
                              "a " + std::string(to_string(m.m3ter_entity)) + " -> " +
                                  std::string(to_string(m.external_table)) + " mapping for " + m.m3ter_id +
                                  (m.integration_id.empty() ? std::string(" (unlinked)")
                                                            : " linked to integration " + m.integration_id) +
                                  " already exists with id " + std::to_string(*existing),
                              "m3terId");
        }
        db.run("INSERT INTO mappings (m3ter_entity, m3ter_id, external_system, external_table, external_id, plan_id, "
               "integration_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, unixepoch() * 1000)",
               to_string(m.m3ter_entity), m.m3ter_id, m.external_system, to_string(m.external_table), m.external_id,
               m.plan_id, m.integration_id);
        return std::to_string(db.last_insert_rowid());
    });
}

Status SqliteStore::delete_mapping(const std::string& id) {
    return write([&](sqlite::Database& db) -> Status {
        std::int64_t numeric = 0;
        const auto* end = id.data() + id.size();
        const auto parsed = std::from_chars(id.data(), end, numeric);
        if (id.empty() || parsed.ec != std::errc() || parsed.ptr != end ||
            db.run("DELETE FROM mappings WHERE id = ?1", numeric) == 0) {
            return make_error(std::string(kNotFound), "no mapping with id " + id, "id");
        }
        return Ok{};
    });
}

}  // namespace meterbridge::store
