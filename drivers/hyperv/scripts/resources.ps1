{{template "prelude" .}}

# The host's capacity, for admission: Get-VMHost's memory and logical
# processors, and what the operating system has free now (KiB).
$vmhost = Get-VMHost
$os = Get-CimInstance -ClassName Win32_OperatingSystem
Out-VcJson ([ordered]@{
    MemoryCapacity        = [int64]$vmhost.MemoryCapacity
    LogicalProcessorCount = [int]$vmhost.LogicalProcessorCount
    FreePhysicalMemoryKB  = [int64]$os.FreePhysicalMemory
})
