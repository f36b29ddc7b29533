"""Tasks assigned through documents (Chapter III, Art. 13-16): the edXML extension that
carries them (`extension`, `model`), the one owner of their states (`lifecycle`),
deadlines on the working calendar (`deadlines`), report buckets (`report`) and
inspection dates (`inspection`)."""
