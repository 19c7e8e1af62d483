-- Reverts 0001: drops account metadata and the registry (TigerBeetle accounts stay).
DROP TABLE account;
DROP TABLE account_type;
DROP TABLE asset;
