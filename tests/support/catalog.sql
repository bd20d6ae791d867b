-- Every object of Booking Pulse's schemas with its full definition, as (kind,
-- description): two databases with the same rows have the same schema.
with ours as (
  select oid, nspname from pg_namespace
  where nspname in ('pulse', 'analytics') or nspname like 'pulse\_%'
)
select 'schema' as kind, nspname || ' ' || coalesce(obj_description(oid, 'pg_namespace'), '') as description
from ours
union all
select 'extension', extname from pg_extension
union all
select 'relation', n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' '
       || coalesce(obj_description(c.oid, 'pg_class'), '') || ' ' || coalesce(c.relacl::text, '')
       || coalesce(' with ' || c.reloptions::text, '')
from pg_class c join ours n on n.oid = c.relnamespace
where c.relkind in ('r', 'v', 'm', 'p', 'S')
union all
select 'column', n.nspname || '.' || c.relname || ' #' || a.attnum || ' ' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod) || case when a.attnotnull then ' not null' else '' end
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || coalesce(' identity ' || nullif(a.attidentity::text, ''), '')
       || coalesce(' generated ' || nullif(a.attgenerated::text, ''), '') || ' ' || coalesce(col_description(c.oid, a.attnum), '')
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join ours n on n.oid = c.relnamespace
left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'v', 'm', 'p')
union all
select 'constraint', n.nspname || '.' || c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid)
from pg_constraint k join pg_class c on c.oid = k.conrelid join ours n on n.oid = c.relnamespace
union all
select 'index', n.nspname || '.' || i.relname || ' ' || pg_get_indexdef(i.oid)
from pg_index x join pg_class i on i.oid = x.indexrelid join ours n on n.oid = i.relnamespace
union all
select 'trigger', n.nspname || '.' || c.relname || ' ' || pg_get_triggerdef(t.oid)
from pg_trigger t join pg_class c on c.oid = t.tgrelid join ours n on n.oid = c.relnamespace
where not t.tgisinternal
union all
select 'view', n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid)
from pg_class c join ours n on n.oid = c.relnamespace where c.relkind in ('v', 'm')
union all
select 'function', pg_get_functiondef(p.oid) || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
       || ' ' || coalesce(p.proacl::text, '')
from pg_proc p join ours n on n.oid = p.pronamespace
union all
select 'hypertable', d.hypertable_schema || '.' || d.hypertable_name || ' ' || d.column_name || ' '
       || coalesce(d.time_interval::text, '')
from timescaledb_information.dimensions d
where to_regclass('timescaledb_information.dimensions') is not null
order by 1, 2;
