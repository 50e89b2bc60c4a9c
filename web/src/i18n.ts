/**
 * Two-language user interface (zh-CN and English). zh-CN is chosen first when the browser
 * prefers Chinese; the choice is remembered in localStorage. Elements carry `data-i18n="key"`
 * (text) or `data-i18n-title` / `data-i18n-placeholder` and are re-labelled on every switch.
 */
export type Lang = 'zh-CN' | 'en';

const zh = {
  app_title: 'gridmap 网格地图',
  tab_planner: '网格规划',
  tab_coverage: '设施覆盖',
  tab_gridlead: '我的网格',
  tab_facilities: '设施管理',
  lang_switch: 'English',
  loading: '加载中…',
  households: '户数',
  elderly: '老年人',
  buildings: '楼栋',
  steward: '楼长',
  grid: '网格',
  community: '社区',
  compound: '小区',
  code: '编号',
  name: '名称',
  kind: '类型',
  capacity: '容量',
  minutes: '分钟',
  pct: '覆盖率',
  total: '合计',
  none: '无',
  close: '关闭',
  save: '保存',
  correct: '更正',
  reason: '原因',
  correct_reason: '如：入户核实',
  count_corrected: '已更正，统计已更新',
  count_edited: '网格员更正过的户数',
  delete: '删除',
  cancel: '取消',
  edit: '编辑',
  add: '新增',
  not_available: '服务器尚未提供此功能（{path}），请稍后再试。',
  request_failed: '请求失败：{msg}',
  saved: '已保存',
  deleted: '已删除',
  conflict: '数据已被他人修改，请刷新后重试（版本冲突）。',
  // planner
  band: '户数区间',
  target: '目标户数',
  tolerance: '容差',
  legend_under: '低于区间',
  legend_in: '区间内',
  legend_over: '高于区间',
  draw_grid: '绘制新网格',
  edit_boundary: '编辑边界',
  finish_drawing: '完成',
  undo: '撤销',
  redo: '重做',
  clear_drawing: '清除',
  drawing_hint: '在地图上单击添加顶点，单击第一个顶点结束。可拖动顶点修改。',
  live_stats: '实时统计',
  in_band: '在区间内',
  out_of_band: '不在区间内',
  contiguous: '连通',
  not_contiguous: '不连通',
  crosses_community: '跨社区',
  overlaps: '重叠',
  unassigned: '未分配楼栋',
  partition: '自动划分',
  partition_run: '运行自动划分',
  all_communities: '全部社区',
  all_kinds: '全部类型',
  proposal: '划分方案',
  accept: '采纳方案',
  discard: '放弃',
  accepted: '方案已采纳，网格已更新',
  report_grids: '网格数',
  report_within: '区间内比例',
  report_min: '最少户数',
  report_max: '最多户数',
  report_contig: '连通比例',
  report_split: '被拆分小区',
  grid_details: '网格详情',
  grid_lead: '网格长',
  assign_lead: '指定网格长',
  select_grid_hint: '单击地图上的网格查看详情。',
  seed: '随机种子',
  // coverage
  facility_kind: '设施类型',
  walk_minutes: '步行时间',
  profile: '人群',
  profile_adult: '成年人（4.5 km/h）',
  profile_elderly: '老年人（较慢）',
  run_coverage: '计算覆盖',
  covered_households: '覆盖户数',
  covered_elderly: '覆盖老年人',
  unreachable: '无法到达楼栋',
  by_community: '按社区',
  by_grid: '按网格',
  isochrones: '等时圈',
  show_isochrones: '显示等时圈',
  gaps: '覆盖缺口（按户数排序）',
  gap_rank: '第 {rank} 名',
  whatif: '假设分析',
  whatif_hint: '拖动设施标记，或单击“放置新设施”后在地图上单击。',
  whatif_add: '放置新设施',
  whatif_reset: '重置',
  whatif_result: '覆盖户数 {before} → {after}（{delta}）',
  export: '导出',
  export_geojson: 'GeoJSON',
  export_csv: 'CSV',
  export_png: 'PNG 图片',
  legend_minutes: '步行分钟',
  unreachable_short: '不可达',
  not_covered_short: '超出时限',
  whatif_unplaced: '设施未接入步行路网：{reason}',
  // grid lead
  my_grid: '我的网格',
  choose_grid: '选择网格',
  serving_facilities: '服务本网格的设施',
  walk_time: '步行时间',
  print: '打印楼栋清单',
  building_list: '楼栋清单',
  login: '登录',
  logout: '退出',
  user: '用户名',
  password: '密码',
  login_failed: '登录失败',
  only_your_grids: '仅显示您负责的网格',
  // facilities
  import_geojson: '导入 GeoJSON',
  add_facility_hint: '单击地图放置新设施',
  imported: '已导入 {n} 个设施',
  import_failed: '导入失败：{msg}',
  facility_list: '设施列表',
  // kinds
  kind_service_station: '党群服务站',
  kind_canteen: '幸福食堂',
  kind_reading_room: '城市书房',
  kind_outreach_point: '暖“新”驿站',
  kind_other: '其他',
  kinds_legend: '设施类型',
  proxy_figures: '代用口径，非真实设施',
  attribution: '© OpenStreetMap 贡献者',
  // siting
  tab_siting: '设施选址',
  siting_hint: '已有设施保持开放。选择问题与候选点，系统给出新设施的最佳位置（或可撤并的设施），并标出新覆盖的楼栋。',
  siting_model: '问题',
  model_mclp: '最大覆盖：新增 P 处',
  model_setcover: '最少设施：覆盖 X% 户数',
  model_pmedian: 'P 中位：平均步行最短',
  model_pcenter: 'P 中心：最远步行最短',
  model_capacitated: '容量约束覆盖',
  model_closure: '撤并评估：哪些设施损失最少',
  add_sites: '新增设施数',
  close_sites: '撤并设施数',
  max_sites: '最多新增数',
  target_pct: '目标覆盖率（%）',
  capacity_median: '默认：现有设施容量中位数',
  candidates: '候选点',
  cand_sample: '路网节点（街角）随机抽样',
  cand_picked: '在地图上点选',
  cand_area: '框选区域内的街角',
  cand_area_draw: '框选区域',
  cand_area_first: '在地图上单击区域的一个角。',
  cand_area_second: '再单击对角。',
  cand_area_set: '已框选区域',
  cand_none_area: '尚未框选区域',
  cand_file: '上传 GeoJSON 点文件',
  cand_corners: '个街角（种子 0）',
  cand_pick: '开始点选',
  cand_clear: '清除',
  cand_pick_hint: '在地图上单击添加候选点。',
  cand_count: '已选 {n} 个候选点',
  cand_not_fc: '不是 GeoJSON FeatureCollection',
  cand_no_points: '文件中没有点要素',
  cand_loaded: '已读取 {file} 中的 {n} 个候选点',
  bad_add: '设施数须在 1 到 1000 之间',
  bad_minutes: '步行时间须在 1 到 60 分钟之间',
  bad_sample: '抽样数须在 1 到 {max} 之间',
  cand_none_picked: '尚未在地图上点选候选点',
  cand_none_file: '尚未上传候选点文件',
  run_siting: '运行选址',
  siting_running: '正在计算…',
  siting_cancelled: '已取消',
  gap_points: '{gap} 个百分点',
  facility: '设施',
  loss_households: '失去覆盖户数',
  only_here: '仅此覆盖',
  candidate: '候选点',
  newly_covered: '新增覆盖户数',
  served: '服务户数 / 容量',
  accept_site: '采纳',
  accepted_site: '已新增设施',
  mean_walk: '平均步行 {before} → {after} 分钟',
  worst_walk: '最远步行 {before} → {after} 分钟',
  served_households: '受服务户数',
  optimal: '已证明最优',
  not_optimal: '未证明最优',
  gap: '差距',
  existing_sites: '现有设施 {n} 处',
  cand_used: '候选点 {n} / {of} 接入路网',
  sites_to_close: '可撤并设施（损失从小到大）',
  ranked_sites: '新设施（按新增覆盖排序）',
  new_site: '新选址',
};

export type Key = keyof typeof zh;

const en: Record<Key, string> = {
  app_title: 'gridmap',
  tab_planner: 'Grids',
  tab_coverage: 'Coverage',
  tab_gridlead: 'My grid',
  tab_facilities: 'Facilities',
  lang_switch: '中文',
  loading: 'Loading…',
  households: 'Households',
  elderly: 'Elderly',
  buildings: 'Buildings',
  steward: 'Steward',
  grid: 'Grid',
  community: 'Community',
  compound: 'Compound',
  code: 'Code',
  name: 'Name',
  kind: 'Kind',
  capacity: 'Capacity',
  minutes: 'min',
  pct: 'Covered',
  total: 'Total',
  none: 'none',
  close: 'Close',
  save: 'Save',
  correct: 'Correct',
  reason: 'Reason',
  correct_reason: 'e.g. door-to-door count',
  count_corrected: 'Corrected; the figures are updated',
  count_edited: 'Household count corrected by a grid worker',
  delete: 'Delete',
  cancel: 'Cancel',
  edit: 'Edit',
  add: 'Add',
  not_available: 'The server does not offer this yet ({path}); please try again later.',
  request_failed: 'Request failed: {msg}',
  saved: 'Saved',
  deleted: 'Deleted',
  conflict: 'Someone else changed this item; reload and try again (version conflict).',
  band: 'Household band',
  target: 'Target households',
  tolerance: 'Tolerance',
  legend_under: 'Under band',
  legend_in: 'In band',
  legend_over: 'Over band',
  draw_grid: 'Draw a new grid',
  edit_boundary: 'Edit boundary',
  finish_drawing: 'Done',
  undo: 'Undo',
  redo: 'Redo',
  clear_drawing: 'Clear',
  drawing_hint: 'Click the map to add vertices; click the first vertex to close the polygon. Drag vertices to edit.',
  live_stats: 'Live statistics',
  in_band: 'in band',
  out_of_band: 'out of band',
  contiguous: 'contiguous',
  not_contiguous: 'not contiguous',
  crosses_community: 'crosses a community boundary',
  overlaps: 'Overlaps',
  unassigned: 'Unassigned buildings',
  partition: 'Automatic partition',
  partition_run: 'Run partition',
  all_communities: 'All communities',
  all_kinds: 'All kinds',
  proposal: 'Proposal',
  accept: 'Accept proposal',
  discard: 'Discard',
  accepted: 'Proposal accepted; grids updated',
  report_grids: 'Grids',
  report_within: 'Within band',
  report_min: 'Min households',
  report_max: 'Max households',
  report_contig: 'Contiguous',
  report_split: 'Compounds split',
  grid_details: 'Grid details',
  grid_lead: 'Grid lead',
  assign_lead: 'Assign grid lead',
  select_grid_hint: 'Click a grid on the map to see its details.',
  seed: 'Seed',
  facility_kind: 'Facility kind',
  walk_minutes: 'Walking time',
  profile: 'Walkers',
  profile_adult: 'Adults (4.5 km/h)',
  profile_elderly: 'Elderly (slower)',
  run_coverage: 'Compute coverage',
  covered_households: 'Covered households',
  covered_elderly: 'Covered elderly',
  unreachable: 'Unreachable buildings',
  by_community: 'By community',
  by_grid: 'By grid',
  isochrones: 'Isochrones',
  show_isochrones: 'Show isochrones',
  gaps: 'Coverage gaps (by households)',
  gap_rank: '#{rank}',
  whatif: 'What-if',
  whatif_hint: 'Drag a facility marker, or press “Drop a new facility” and click the map.',
  whatif_add: 'Drop a new facility',
  whatif_reset: 'Reset',
  whatif_result: 'Covered households {before} → {after} ({delta})',
  export: 'Export',
  export_geojson: 'GeoJSON',
  export_csv: 'CSV',
  export_png: 'PNG image',
  legend_minutes: 'Walking minutes',
  unreachable_short: 'unreachable',
  not_covered_short: 'beyond the limit',
  whatif_unplaced: 'The facility is off the walking network: {reason}',
  my_grid: 'My grid',
  choose_grid: 'Choose a grid',
  serving_facilities: 'Facilities serving this grid',
  walk_time: 'Walking time',
  print: 'Print building list',
  building_list: 'Building list',
  login: 'Log in',
  logout: 'Log out',
  user: 'User',
  password: 'Password',
  login_failed: 'Login failed',
  only_your_grids: 'Only your assigned grids are shown',
  import_geojson: 'Import GeoJSON',
  add_facility_hint: 'Click the map to place the new facility',
  imported: 'Imported {n} facilities',
  import_failed: 'Import failed: {msg}',
  facility_list: 'Facilities',
  kind_service_station: 'Service station',
  kind_canteen: 'Canteen / day care',
  kind_reading_room: 'Reading room',
  kind_outreach_point: 'Outreach point',
  kind_other: 'Other',
  kinds_legend: 'Facility kinds',
  proxy_figures: 'Proxy figures, not real facilities',
  attribution: '© OpenStreetMap contributors',
  // siting
  tab_siting: 'Siting',
  siting_hint: 'Existing sites stay open. Choose the question and the candidates; the best places for new sites (or the sites that could close) come back with the buildings they newly cover outlined.',
  siting_model: 'Question',
  model_mclp: 'Maximal coverage: add P sites',
  model_setcover: 'Fewest sites to reach X %',
  model_pmedian: 'p-median: shortest mean walk',
  model_pcenter: 'p-center: shortest worst walk',
  model_capacitated: 'Capacitated coverage',
  model_closure: 'Closure: which sites lose least',
  add_sites: 'New sites',
  close_sites: 'Sites to close',
  max_sites: 'At most new sites',
  target_pct: 'Target coverage (%)',
  capacity_median: 'default: median of existing capacities',
  candidates: 'Candidates',
  cand_sample: 'Street corners (random sample)',
  cand_picked: 'Points clicked on the map',
  cand_area: 'Street corners inside a drawn area',
  cand_area_draw: 'Draw the area',
  cand_area_first: 'Click one corner of the area on the map.',
  cand_area_second: 'Now click the opposite corner.',
  cand_area_set: 'Area drawn',
  cand_none_area: 'no area drawn yet',
  cand_file: 'A GeoJSON file of points',
  cand_corners: 'street corners (seed 0)',
  cand_pick: 'Pick on the map',
  cand_clear: 'Clear',
  cand_pick_hint: 'Click the map to add candidate points.',
  cand_count: '{n} candidates picked',
  cand_not_fc: 'not a GeoJSON FeatureCollection',
  cand_no_points: 'the file has no Point features',
  cand_loaded: '{n} candidates read from {file}',
  bad_add: 'the number of sites must be between 1 and 1000',
  bad_minutes: 'walking minutes must be between 1 and 60',
  bad_sample: 'the sample must be between 1 and {max}',
  cand_none_picked: 'no candidate picked on the map yet',
  cand_none_file: 'no candidate file loaded yet',
  run_siting: 'Run siting',
  siting_running: 'Computing…',
  siting_cancelled: 'Cancelled',
  gap_points: '{gap} points',
  facility: 'Facility',
  loss_households: 'Households lost',
  only_here: 'Only here',
  candidate: 'Candidate',
  newly_covered: 'Newly covered',
  served: 'Served / capacity',
  accept_site: 'Accept',
  accepted_site: 'Facility added',
  mean_walk: 'Mean walk {before} → {after} min',
  worst_walk: 'Worst walk {before} → {after} min',
  served_households: 'Served households',
  optimal: 'proven optimal',
  not_optimal: 'not proven optimal',
  gap: 'gap',
  existing_sites: '{n} existing sites',
  cand_used: '{n} of {of} candidates on the network',
  sites_to_close: 'Sites that could close (least loss first)',
  ranked_sites: 'New sites (by households newly covered)',
  new_site: 'New site',
};

const dicts: Record<Lang, Record<Key, string>> = { 'zh-CN': zh, en };
const listeners: Array<(l: Lang) => void> = [];

/** Picks the first language: a saved choice, else zh-CN when the browser prefers Chinese. */
export function initialLang(): Lang {
  const saved = localStorage.getItem('gridmap.lang');
  if (saved === 'zh-CN' || saved === 'en') return saved;
  const prefs = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const p of prefs) {
    const l = p.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

let current: Lang = initialLang();

export function lang(): Lang {
  return current;
}

/** Translates `key`, replacing `{name}` placeholders with `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const s = dicts[current][key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k: string) => (k in vars ? String(vars[k]) : `{${k}}`));
}

let kindNames: Record<string, { zh: string; en: string }> = {};

/** Labels of the kinds as the server's profile declares them (see ../kinds.ts). */
export function setKindNames(names: Record<string, { zh: string; en: string }>): void {
  kindNames = names;
}

/** Localised label of a facility kind (free-form kinds are shown as they are). */
export function kindLabel(kind: string): string {
  const named = kindNames[kind];
  if (named) return lang() === 'en' ? named.en : named.zh;
  const key = `kind_${kind}` as Key;
  return key in zh ? t(key) : kind;
}

/** Formats a number in the current locale. */
export function num(n: number, digits = 0): string {
  return n.toLocaleString(current, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function setLang(l: Lang): void {
  current = l;
  localStorage.setItem('gridmap.lang', l);
  applyTranslations(document);
  for (const f of listeners) f(l);
}

export function onLangChange(f: (l: Lang) => void): void {
  listeners.push(f);
}

/** Re-labels every element that carries a `data-i18n*` attribute under `root`. */
export function applyTranslations(root: ParentNode): void {
  document.documentElement.lang = current;
  document.title = t('app_title');
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n as Key);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-title]').forEach((el) => {
    el.title = t(el.dataset.i18nTitle as Key);
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  });
}
