//! CentralNic Reseller return codes. TODO(parser helper B): the catalog of seed 000 plus
//! HEXONET 425 and 510, with texts and classes.
