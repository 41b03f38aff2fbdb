import IntakeStore
import IntakeSystem
import IntakeValidate

extension CustomerUpdate {
    /// The store's view of a validated row: attributes as a JSON object.
    init(_ record: CustomerRecord) {
        // Sized once for the common case (nothing to escape): growing from empty reallocated
        // the buffer about seven times per row.
        var capacity = 2
        for attribute in record.attributes { capacity += attribute.key.utf8.count + attribute.value.utf8.count + 6 }
        var json = JSONWriter(capacity: capacity)
        json.beginObject()
        for attribute in record.attributes {
            json.key(attribute.key)
            json.string(attribute.value)
        }
        json.endObject()
        self.init(externalID: record.externalID, email: record.email, name: record.name, phone: record.phone,
                  createdAt: record.createdAt, attributesJSON: json.text)
    }
}
