(module
  (type (;0;) (func (param i64)))
  (type (;1;) (func (param f32 f64 i32) (result i64 i64 v128)))
  (global (;0;) (mut f64) f64.const 0x1.f92191bae34p-302)
  (global (;1;) (mut i64) i64.const 0)
  (global (;2;) (mut i64) i64.const 0)
  (global (;3;) (mut i32) i32.const 0)
  (global (;4;) (mut v128) v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000)
  (global (;6;) (mut i32) i32.const 15)
  (export "" (func 0))
  (export "5" (global 1))
  (func (;0;) (type 1) (param f32 f64 i32) (result i64 i64 v128)
    (local i32 f32 v128 v128 f64)
    v128.const i32x4 0x806d1f9a 0x41dbc57d 0xafc062e4 0xaf8a8c44
    f32.const -nan:0x77ffff (;=NaN;)
    f32.const nan (;=NaN;)
    local.get 4
    local.get 4
    f32.eq
    select
    block (result f64) ;; label = @1
      i32.const 1
      f32.const 0x1.p-139
      i64.trunc_f32_u
      f64.const 0x1.c4083a54b1587p+841
      global.get 0
      local.tee 1
      f32.const 0x1.ff8p-140
      i64.trunc_f32_s
      local.get 1
      i32.trunc_f64_u
      if (type 0) (param i64) ;; label = @2
        global.get 0
        ref.null func
        ref.null func
        i64.const 524287
        v128.const i32x4 0x2263a257 0x347caf03 0xd768e476 0xba44d26d
        v128.const i32x4 0x7fc00000 0x7fc00000 0x7fc00000 0x7fc00000
        local.get 5
        v128.bitselect
        i32x4.extract_lane 1
        f32.convert_i32_s
        local.get 3
        i32.const 1048575
        i64.const 2139095039
        local.get 6
        i8x16.extract_lane_s 5
        i64.const 8162927960877776649
        block (result i32) ;; label = @3
          f64.const -0x1.140eb8b348301p-827
          f64.const nan (;=NaN;)
          local.get 7
          local.get 7
          f64.eq
          select
          i32.trunc_sat_f64_u
        end
        global.set 5
        global.set 2
        global.set 5
        global.set 2
        i32.xor
        global.set 5
        i32.reinterpret_f32
        global.set 3
        global.set 2
        drop
        drop
        i64.reinterpret_f64
        i64.xor
        global.set 2
      else
        global.set 2
      end
      i64.reinterpret_f64
      global.set 1
      i64.reinterpret_f64
      i64.xor
      global.set 2
      global.set 5
      f64.const 0x1.50982e300081fp+228
    end
    i64.reinterpret_f64
    global.get 1
    i64.xor
    global.set 1
    i32.reinterpret_f32
    global.set 3
    global.set 4
    i64.const 9007199254740992
    i64.const -281474976710656
    v128.const i32x4 0x130badab 0xf3c5bd29 0x1774158f 0xbb327582
  )
)
