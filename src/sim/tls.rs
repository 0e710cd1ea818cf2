//! Optional TLS for the simulated API server. kubectl and oc (client-go) never send bearer
//! tokens over plain HTTP, so `democtl sim serve` serves HTTPS with a fixed loopback-only
//! certificate (CN `democtl-sim`, SANs 127.0.0.1, ::1, localhost) signed by a fixed local CA that
//! the written kubeconfig trusts. The key is public on purpose: it protects nothing but a
//! simulator on 127.0.0.1. In-process kube-rs clients use plain HTTP.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// The CA certificate clients trust (kubeconfig `certificate-authority-data`).
pub const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBmDCCAT+gAwIBAgIUR5XkSHs8wWnDhiTMNM05/6HRbiowCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOZGVtb2N0bC1zaW0tY2EwIBcNMjYxMTI1MTk0OTEyWhgPMjEy
NjExMDExOTQ5MTJaMBkxFzAVBgNVBAMMDmRlbW9jdGwtc2ltLWNhMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEGp5fq+Sr3/I4ImAVBZbysonjRScuzRa7ys25a15o
ec0KmLtHhvi/oKJ/Y3PJK0JdQqb/Chb7tJ/yCyBL4wvskqNjMGEwHQYDVR0OBBYE
FNh5Dhv7yA3C542kH86o6O7I7cc+MB8GA1UdIwQYMBaAFNh5Dhv7yA3C542kH86o
6O7I7cc+MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgIEMAoGCCqGSM49
BAMCA0cAMEQCIBVB2h85tIA23SGbgYmtlfc97xgXtEMkOEmW1AWlEJmuAiBsHIye
BGFi72GDepU1E60XuathnPtf8VmuBdSC0ZdYhQ==
-----END CERTIFICATE-----\n";

const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIB2DCCAX6gAwIBAgIUbZ+vIbeA/AwcSQ6akKINsVwiYpcwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOZGVtb2N0bC1zaW0tY2EwIBcNMjYxMTI1MTk0OTEyWhgPMjEy
NjExMDExOTQ5MTJaMBYxFDASBgNVBAMMC2RlbW9jdGwtc2ltMFkwEwYHKoZIzj0C
AQYIKoZIzj0DAQcDQgAEbRopXysAujLYKEm7XOep/2PKKMRCSMfIQzJdjl/CeMM/
RQDT4NTdJB1paXFPLGAY7Oj/ub4Z4TNLWUkEpB63uaOBpDCBoTAsBgNVHREEJTAj
hwR/AAABgglsb2NhbGhvc3SHEAAAAAAAAAAAAAAAAAAAAAEwDAYDVR0TAQH/BAIw
ADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHQYDVR0OBBYE
FOE3DURQWe8PeBzy+qfPvMl/Zvi7MB8GA1UdIwQYMBaAFNh5Dhv7yA3C542kH86o
6O7I7cc+MAoGCCqGSM49BAMCA0gAMEUCIFCzeD5dJ/EBbGX6oMnWe5NlWkX/DVMp
RYLBe3TaVyWgAiEAopGIg6ZSvLkhrmPSaFdOSDmsFvvbQVNFby2y1jbcZ0s=
-----END CERTIFICATE-----\n";

const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgvLDRRqLo1dKU07/x
XgBUD5a7kBTIxRnbzfEqLpDmRjyhRANCAARtGilfKwC6MtgoSbtc56n/Y8ooxEJI
x8hDMl2OX8J4wz9FANPg1N0kHWlpcU8sYBjs6P+5vhnhM0tZSQSkHre5
-----END PRIVATE KEY-----\n";

/// The TLS acceptor for the fixed loopback certificate.
pub fn acceptor() -> io::Result<TlsAcceptor> {
    let invalid =
        |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let certs = vec![
        CertificateDer::from_pem_slice(CERT_PEM.as_bytes()).map_err(|e| invalid(&e))?,
        CertificateDer::from_pem_slice(CA_PEM.as_bytes()).map_err(|e| invalid(&e))?,
    ];
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM.as_bytes()).map_err(|e| invalid(&e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The CA certificate in DER form (for kube-rs `Config::root_cert`).
pub fn ca_der() -> Option<Vec<u8>> {
    CertificateDer::from_pem_slice(CA_PEM.as_bytes())
        .ok()
        .map(|c| c.as_ref().to_vec())
}

/// A TCP listener that completes a TLS handshake per connection (failed handshakes are dropped).
pub struct TlsListener {
    /// The socket.
    pub tcp: TcpListener,
    /// The handshake.
    pub acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, addr) = match self.tcp.accept().await {
                Ok(x) => x,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            match tokio::time::timeout(std::time::Duration::from_secs(5), self.acceptor.accept(tcp))
                .await
            {
                Ok(Ok(tls)) => return (tls, addr),
                _ => continue,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn certificate_and_key_load() {
        assert!(super::acceptor().is_ok());
        assert!(super::ca_der().is_some());
    }
}
