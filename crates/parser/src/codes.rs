//! Code catalogs: AutoDNS task codes and notices, CentralNic return codes.
//! TODO(parser helper): fill in.
