"""Tasks assigned through documents (Chapter III, Art. 13-16): the edXML extension that
carries them (`extension`, `model`, its JSON form `jsonform`), the one owner of their
states (`lifecycle`), the seam from accepted traffic (`traffic`), deadlines on the working
calendar (`deadlines`), report buckets (`report`) and inspection dates (`inspection`);
tracking them from the journal (`tracker`, writing through `records` to the store port
`ports`) and the deadline reminders sent as notices (`reminding`)."""
