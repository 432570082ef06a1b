-- Search benchmark data: psql -v n=100000 -f bench/search/generate.sql on a database built by
-- `flask db upgrade` + `flask demo load`, then bench/search/recent_open_cases.sql and VACUUM ANALYZE; a name
-- search needs the cases' search tokens filled first (caseflow.cases.search_tokens.rebuild() in an app context).
-- Scratch data for the search/list measurements: :n cases, 20,000 schools (run once per size on an empty demo DB).
\set ON_ERROR_STOP on
SET synchronous_commit = off;
-- schools: 20,000 under the Henan counties (and a few under cities)
INSERT INTO units (code, name, kind, parent_id, path, directly_administered)
SELECT '49' || lpad(i::text, 8, '0'), left(p.name, 3) || '第' || i || (CASE WHEN i % 3 = 0 THEN '初级中学' ELSE '小学' END),
       'school', p.id, p.path || '49' || lpad(i::text, 8, '0') || '/', false
FROM generate_series(1, 20000) i
JOIN LATERAL (SELECT id, name, path FROM units WHERE kind IN ('county', 'city') AND path LIKE '000000/410000/%'
              ORDER BY id OFFSET (i % (SELECT count(*) FROM units WHERE kind IN ('county','city') AND path LIKE '000000/410000/%')) LIMIT 1) p ON true
WHERE NOT EXISTS (SELECT 1 FROM units WHERE code = '4900000001');
CREATE TEMP TABLE sch AS SELECT row_number() OVER (ORDER BY id) AS k, id, parent_id FROM units WHERE code LIKE '49%';
CREATE TEMP TABLE fam AS SELECT * FROM unnest(string_to_array('张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文', NULL)) WITH ORDINALITY AS f(c, k);
CREATE TEMP TABLE giv AS SELECT * FROM unnest(string_to_array('伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鑫波斌宇浩凯健俊帆帅旭宁龙林欣怡佳琪晨曦子涵梓轩雨萱若汐一诺思远博文嘉懿', NULL)) WITH ORDINALITY AS g(c, k);
SELECT max(id) AS pbase FROM persons \gset
SELECT max(id) AS cbase FROM cases \gset
SELECT max(id) AS obase FROM orders \gset
SELECT count(*) AS nf FROM fam \gset
SELECT count(*) AS ng FROM giv \gset
-- two persons a case: complainant (odd), student (even)
INSERT INTO persons (id, name, id_number_hash, phone_hash, registry_no_hash)
SELECT :pbase + i,
       (SELECT c FROM fam WHERE k = 1 + (hashint4(i) & 2147483647) % :nf)
       || (SELECT c FROM giv WHERE k = 1 + (hashint4(i * 7 + 1) & 2147483647) % :ng)
       || CASE WHEN i % 3 = 0 THEN '' ELSE (SELECT c FROM giv WHERE k = 1 + (hashint4(i * 13 + 5) & 2147483647) % :ng) END,
       encode(sha256(('id' || i)::bytea), 'hex'),
       CASE WHEN i % 2 = 1 THEN encode(sha256(('ph' || i)::bytea), 'hex') END,
       CASE WHEN i % 2 = 0 THEN encode(sha256(('rg' || i)::bytea), 'hex') END
FROM generate_series(1, 2 * :n) i;
SELECT setval(pg_get_serial_sequence('persons', 'id'), (SELECT max(id) FROM persons));
-- cases: 85 % finished, the rest open in every state; received over the last 24 months
CREATE TEMP TABLE gc AS
SELECT i, :cbase + i AS id, s.id AS school_id, s.parent_id AS unit_id,
       (now() - ((hashint4(i * 3) & 2147483647) % 730) * interval '1 day' - (i % 86400) * interval '1 second') AS received_at,
       CASE WHEN i % 100 < 80 THEN 'closed' WHEN i % 100 < 83 THEN 'rejected' WHEN i % 100 < 85 THEN 'referred'
            WHEN i % 100 < 87 THEN 'submitted' WHEN i % 100 < 89 THEN 'registered' WHEN i % 100 < 94 THEN 'verifying'
            WHEN i % 100 < 96 THEN 'deciding' WHEN i % 100 < 98 THEN 'handling' ELSE 'concluding' END AS state
FROM generate_series(1, :n) i JOIN sch s ON s.k = 1 + (hashint4(i * 11) & 2147483647) % 20000;
INSERT INTO cases (id, number, access_code_hash, source, category, state, round, description, complaint_summary,
                   complainant_id, student_id, responsible_unit_id, received_at, registered_at, action_due_on,
                   action_due_provisional, action_chase_level, closed_at, rejection_reason, rating, rated_at, version_id)
SELECT id, 'XB' || extract(year from received_at)::int || '-' || lpad(i::text, 7, '0'), 'x', 'web',
       (ARRAY['unregistered','transfer','one_system_only','mismatch','duplicate','separated','graduate_pool','other'])[1 + i % 8],
       state, 1, '孩子在学校就读，学籍一直没有办理注册，多次找学校没有结果，请求核查处理。编号' || i,
       '核查该生学籍注册情况' || i, :pbase + 2 * i - 1, :pbase + 2 * i, unit_id, received_at,
       CASE WHEN state <> 'submitted' THEN received_at + interval '1 day' END,
       CASE WHEN state IN ('submitted','registered','deciding') THEN (received_at + interval '5 day')::date END,
       false, 0,
       CASE WHEN state = 'closed' THEN received_at + interval '20 day' END,
       CASE WHEN state = 'rejected' THEN '不属于学籍问题' END,
       CASE WHEN state = 'closed' AND i % 5 > 0 THEN (ARRAY['satisfied','basically','unsatisfied'])[1 + i % 3] END,
       CASE WHEN state = 'closed' AND i % 5 > 0 THEN received_at + interval '22 day' END, 1
FROM gc;
SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases));
INSERT INTO case_schools (case_id, unit_id) SELECT id, school_id FROM gc;
-- one verification order a registered case (county → school), plus a supervision order once decided
INSERT INTO orders (id, number, kind, case_id, round, issuing_unit_id, receiving_unit_id, state, content, findings, verdict,
                    sent_at, sign_due_on, due_on, due_provisional, signed_at, reported_at, accepted_at, chase_level,
                    sign_chase_level, version_id)
SELECT :obase + i, 'HB' || extract(year from received_at)::int || '-' || lpad(i::text, 7, '0'), 'verification', id, 1,
       unit_id, school_id,
       CASE WHEN state = 'verifying' THEN (ARRAY['sent','signed','signed','reported'])[1 + i % 4] ELSE 'accepted' END,
       '核查该生学籍注册情况', CASE WHEN state <> 'verifying' OR i % 4 = 3 THEN '已核实' END,
       CASE WHEN state <> 'verifying' OR i % 4 = 3 THEN 'true' END,
       received_at + interval '2 day', (received_at + interval '4 day')::date, (received_at + interval '9 day')::date, false,
       CASE WHEN state = 'verifying' AND i % 4 = 0 THEN NULL ELSE received_at + interval '3 day' END,
       CASE WHEN state <> 'verifying' OR i % 4 = 3 THEN received_at + interval '8 day' END,
       CASE WHEN state <> 'verifying' THEN received_at + interval '9 day' END, 0, 0, 1
FROM gc WHERE state IN ('closed','verifying','deciding','handling','concluding');
INSERT INTO orders (id, number, kind, case_id, round, issuing_unit_id, receiving_unit_id, state, content, handling_opinion,
                    handling_result, sent_at, sign_due_on, due_on, due_provisional, signed_at, reported_at, accepted_at,
                    chase_level, sign_chase_level, version_id)
SELECT :obase + :n + i, 'HD' || extract(year from received_at)::int || '-' || lpad(i::text, 7, '0'), 'supervision', id, 1,
       unit_id, school_id,
       CASE WHEN state = 'handling' THEN (ARRAY['sent','signed','reported'])[1 + i % 3] ELSE 'accepted' END,
       '督办学籍注册', '请于时限内办理注册', CASE WHEN state <> 'handling' OR i % 3 = 2 THEN '已办理' END,
       received_at + interval '12 day', (received_at + interval '14 day')::date, (received_at + interval '19 day')::date, false,
       CASE WHEN state = 'handling' AND i % 3 = 0 THEN NULL ELSE received_at + interval '13 day' END,
       CASE WHEN state <> 'handling' OR i % 3 = 2 THEN received_at + interval '18 day' END,
       CASE WHEN state <> 'handling' THEN received_at + interval '19 day' END, 0, 0, 1
FROM gc WHERE state IN ('closed','handling','concluding') AND i % 2 = 0 OR state = 'handling';
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));
-- escalations of overdue open orders (the chase would have made them)
INSERT INTO chase_steps (subject, step, deadline, due_on, case_id, order_id, target_unit_id, reason, created_at)
SELECT 'order:' || o.id, 'escalate', 'complete', o.due_on, o.case_id, o.id, u.parent_id, '逾期提请上级督办', now()
FROM orders o JOIN units u ON u.id = o.issuing_unit_id
WHERE o.state IN ('sent','signed','relayed') AND o.due_on < current_date - 10 AND o.id % 3 = 0 AND o.id > :obase;
UPDATE orders SET chase_level = 3 WHERE id IN (SELECT order_id FROM chase_steps WHERE step = 'escalate');
ANALYZE;
